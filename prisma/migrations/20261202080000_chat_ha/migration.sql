-- Several instances on one database: the IRC connection lease, the outbox other instances write IRC messages
-- to, and the Slack event ids already taken (a redelivery to another instance's connection is answered once).
-- CreateTable
CREATE TABLE "ChatLease" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "holder" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "acquiredAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "ChatOutbox" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "network" TEXT NOT NULL,
    "room" TEXT NOT NULL,
    "asker" TEXT,
    "text" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" DATETIME,
    "deliveredBy" TEXT
);

-- CreateTable
CREATE TABLE "ChatEvent" (
    "provider" TEXT NOT NULL,
    "eventId" TEXT NOT NULL,
    "receivedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,

    PRIMARY KEY ("provider", "eventId")
);

-- CreateIndex
CREATE INDEX "ChatOutbox_network_deliveredAt_id_idx" ON "ChatOutbox"("network", "deliveredAt", "id");

-- CreateIndex
CREATE INDEX "ChatEvent_receivedAt_idx" ON "ChatEvent"("receivedAt");
