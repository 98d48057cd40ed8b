-- Confirmation questions across instances: a yes/no answer may reach another instance than the one that asked
-- (Slack delivers each event to one of the app's connections); it is recorded here, first answer wins.
-- CreateTable
CREATE TABLE "ChatQuestion" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "asker" TEXT NOT NULL,
    "room" TEXT NOT NULL,
    "thread" TEXT,
    "question" TEXT NOT NULL,
    "instance" TEXT NOT NULL,
    "askedAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "answer" TEXT,
    "answeredAt" DATETIME,
    "answeredBy" TEXT
);

-- CreateIndex
CREATE INDEX "ChatQuestion_asker_room_askedAt_idx" ON "ChatQuestion"("asker", "room", "askedAt");

-- CreateIndex
CREATE INDEX "ChatQuestion_askedAt_idx" ON "ChatQuestion"("askedAt");
