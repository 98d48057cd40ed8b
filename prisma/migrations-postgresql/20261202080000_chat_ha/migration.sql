-- Several instances on one database: the IRC connection lease, the outbox other instances write IRC messages
-- to, and the Slack event ids already taken (a redelivery to another instance's connection is answered once).
-- CreateTable
CREATE TABLE "ChatLease" (
    "name" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "acquiredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChatLease_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "ChatOutbox" (
    "id" SERIAL NOT NULL,
    "network" TEXT NOT NULL,
    "room" TEXT NOT NULL,
    "asker" TEXT,
    "text" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deliveredAt" TIMESTAMP(3),
    "deliveredBy" TEXT,

    CONSTRAINT "ChatOutbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ChatEvent" (
    "provider" TEXT NOT NULL,
    "eventId" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ChatEvent_pkey" PRIMARY KEY ("provider", "eventId")
);

-- CreateIndex
CREATE INDEX "ChatOutbox_network_deliveredAt_id_idx" ON "ChatOutbox"("network", "deliveredAt", "id");

-- CreateIndex
CREATE INDEX "ChatEvent_receivedAt_idx" ON "ChatEvent"("receivedAt");
