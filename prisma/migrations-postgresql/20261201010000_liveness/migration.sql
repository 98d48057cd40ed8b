-- Liveness: which instance runs a deploy, a cancel asked of another instance, a GitHub status never posted.
ALTER TABLE "Deploy" ADD COLUMN "ownerId" TEXT;

ALTER TABLE "Deploy" ADD COLUMN "cancelRequestedAt" TIMESTAMP(3);

ALTER TABLE "Deploy" ADD COLUMN "cancelRequestedBy" TEXT;

ALTER TABLE "Deploy" ADD COLUMN "githubNotUpdated" BOOLEAN NOT NULL DEFAULT false;
