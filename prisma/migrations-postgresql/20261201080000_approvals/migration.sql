-- Approvals: a deploy to an environment with `approvals: N` waits (awaiting_approval) for N release managers.
ALTER TABLE "Deploy" ADD COLUMN "approvalsNeeded" INTEGER NOT NULL DEFAULT 0;

ALTER TABLE "Deploy" ADD COLUMN "approvalExpiresAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "Approval" (
    "id" SERIAL NOT NULL,
    "deployId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Approval_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Approval_deployId_userId_key" ON "Approval"("deployId", "userId");

-- AddForeignKey
ALTER TABLE "Approval" ADD CONSTRAINT "Approval_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Approval" ADD CONSTRAINT "Approval_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
