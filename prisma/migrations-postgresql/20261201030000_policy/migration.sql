-- The audit trail records gate decisions and overrides next to commands.
ALTER TABLE "AuditEvent" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'command';

ALTER TABLE "AuditEvent" ADD COLUMN "app" TEXT;

ALTER TABLE "AuditEvent" ADD COLUMN "environment" TEXT;

ALTER TABLE "AuditEvent" ADD COLUMN "deployId" INTEGER;

ALTER TABLE "AuditEvent" ADD COLUMN "gate" TEXT;

-- CreateIndex
CREATE INDEX "AuditEvent_environment_createdAt_idx" ON "AuditEvent"("environment", "createdAt");

-- CreateIndex
CREATE INDEX "AuditEvent_deployId_idx" ON "AuditEvent"("deployId");

-- CreateTable
CREATE TABLE "Freeze" (
    "id" SERIAL NOT NULL,
    "environment" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "until" TIMESTAMP(3),
    "createdById" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" TIMESTAMP(3),
    "endedById" INTEGER,

    CONSTRAINT "Freeze_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Freeze_environment_endedAt_idx" ON "Freeze"("environment", "endedAt");

-- AddForeignKey
ALTER TABLE "Freeze" ADD CONSTRAINT "Freeze_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Freeze" ADD CONSTRAINT "Freeze_endedById_fkey" FOREIGN KEY ("endedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;
