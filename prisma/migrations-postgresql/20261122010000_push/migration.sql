-- CreateTable
CREATE TABLE "Push" (
    "id" SERIAL NOT NULL,
    "app" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "branch" TEXT,
    "baseRef" TEXT,
    "baseSha" TEXT,
    "headSha" TEXT,
    "startedById" INTEGER,
    "provider" TEXT,
    "room" TEXT,
    "startedAt" TIMESTAMP(3),
    "confirmBy" TIMESTAMP(3),
    "remindedAt" TIMESTAMP(3),
    "deferredAt" TIMESTAMP(3),
    "environment" TEXT,
    "deployId" INTEGER,
    "endedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Push_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CherryPick" (
    "id" SERIAL NOT NULL,
    "pushId" INTEGER NOT NULL,
    "subject" TEXT NOT NULL,
    "prNumber" INTEGER,
    "sha" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "url" TEXT,
    "requesterId" INTEGER NOT NULL,
    "authorId" INTEGER NOT NULL,
    "authorName" TEXT NOT NULL,
    "additions" INTEGER NOT NULL,
    "deletions" INTEGER NOT NULL,
    "files" INTEGER NOT NULL,
    "comments" INTEGER,
    "reviewComments" INTEGER,
    "state" TEXT NOT NULL,
    "reason" TEXT,
    "decidedById" INTEGER,
    "decidedAt" TIMESTAMP(3),
    "conflictFiles" TEXT,
    "pickedSha" TEXT,
    "carriedFromId" INTEGER,
    "requestedAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CherryPick_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Confirmation" (
    "id" SERIAL NOT NULL,
    "pushId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Confirmation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Push_app_state_idx" ON "Push"("app", "state");

-- CreateIndex
CREATE UNIQUE INDEX "CherryPick_carriedFromId_key" ON "CherryPick"("carriedFromId");

-- CreateIndex
CREATE INDEX "CherryPick_sha_idx" ON "CherryPick"("sha");

-- CreateIndex
CREATE INDEX "CherryPick_pickedSha_idx" ON "CherryPick"("pickedSha");

-- CreateIndex
CREATE UNIQUE INDEX "CherryPick_pushId_subject_key" ON "CherryPick"("pushId", "subject");

-- CreateIndex
CREATE UNIQUE INDEX "Confirmation_pushId_userId_key" ON "Confirmation"("pushId", "userId");

-- AddForeignKey
ALTER TABLE "Push" ADD CONSTRAINT "Push_startedById_fkey" FOREIGN KEY ("startedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CherryPick" ADD CONSTRAINT "CherryPick_pushId_fkey" FOREIGN KEY ("pushId") REFERENCES "Push"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CherryPick" ADD CONSTRAINT "CherryPick_requesterId_fkey" FOREIGN KEY ("requesterId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CherryPick" ADD CONSTRAINT "CherryPick_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CherryPick" ADD CONSTRAINT "CherryPick_decidedById_fkey" FOREIGN KEY ("decidedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CherryPick" ADD CONSTRAINT "CherryPick_carriedFromId_fkey" FOREIGN KEY ("carriedFromId") REFERENCES "CherryPick"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Confirmation" ADD CONSTRAINT "Confirmation_pushId_fkey" FOREIGN KEY ("pushId") REFERENCES "Push"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Confirmation" ADD CONSTRAINT "Confirmation_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
