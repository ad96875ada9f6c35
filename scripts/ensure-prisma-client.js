// npm 11 does not run @prisma/client's own postinstall until allowed, so generate the client here.
// Prisma's CLI needs DATABASE_URL even for `generate` (otherwise it tries to download an engine).
const { execSync } = require('node:child_process');
const env = { ...process.env };
env.DATABASE_URL ||= 'postgresql://postgres@127.0.0.1:5432/postgres';
try {
  execSync('npx --no-install prisma generate', { stdio: 'inherit', env });
} catch (err) {
  console.error('prisma generate failed:', err.message);
  process.exit(1);
}
