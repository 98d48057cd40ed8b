// Prisma CLI configuration (Prisma 7 moved the connection URL out of schema.prisma).
// The bot applies prisma/migrations itself at start; `prisma migrate deploy` works on the same files.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'file:./data/shepherd.db' },
});
