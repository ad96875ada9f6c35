/** The server tests create databases on: TEST_PG_URL, else the local trust-auth server. */
export function adminUrl(): string {
  return process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

export function withDatabase(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}
