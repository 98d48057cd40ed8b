-- Confirmation questions across instances: a yes/no answer may reach another instance than the one that asked
-- (Slack delivers each event to one of the app's connections); it is recorded here, first answer wins.
-- CreateTable
CREATE TABLE "ChatQuestion" (
    "id" TEXT NOT NULL,
    "asker" TEXT NOT NULL,
    "room" TEXT NOT NULL,
    "thread" TEXT,
    "question" TEXT NOT NULL,
    "instance" TEXT NOT NULL,
    "askedAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "answer" TEXT,
    "answeredAt" TIMESTAMP(3),
    "answeredBy" TEXT,

    CONSTRAINT "ChatQuestion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ChatQuestion_asker_room_askedAt_idx" ON "ChatQuestion"("asker", "room", "askedAt");

-- CreateIndex
CREATE INDEX "ChatQuestion_askedAt_idx" ON "ChatQuestion"("askedAt");
