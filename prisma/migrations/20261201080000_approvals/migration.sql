-- Approvals: a deploy to an environment with `approvals: N` waits (awaiting_approval) for N release managers.
ALTER TABLE "Deploy" ADD COLUMN "approvalsNeeded" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "Deploy" ADD COLUMN "approvalExpiresAt" DATETIME;

-- CreateTable
CREATE TABLE "Approval" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "deployId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Approval_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Approval_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Approval_deployId_userId_key" ON "Approval"("deployId", "userId");
