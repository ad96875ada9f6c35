import { defineConfig } from 'prisma/config';
import { createCliAdapterFactory } from './prisma/cli-adapter';

// The Prisma CLI runs on its bundled WebAssembly schema engine through a driver adapter
// (see prisma/cli-adapter.ts and DESIGN.md "Environment facts").
export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  adapter: async () => {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL must be set for the Prisma CLI');
    return createCliAdapterFactory(url);
  },
});
