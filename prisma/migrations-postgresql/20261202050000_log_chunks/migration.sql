-- hand-written for PostgreSQL
-- The twin of prisma/migrations/20261202050000_log_chunks: the conversion's aggregate is string_agg here.
-- Deploy logs as chunks instead of a row per line. Existing logs are converted: each run of consecutive lines
-- of one deploy, host, stream and time (seq - row_number() is constant along such a run) becomes one chunk of at
-- most 1000 lines, joined by '\n'.

-- CreateTable
CREATE TABLE "LogChunk" (
    "id" SERIAL NOT NULL,
    "deployId" INTEGER NOT NULL,
    "firstSeq" INTEGER NOT NULL,
    "lastSeq" INTEGER NOT NULL,
    "host" TEXT,
    "stream" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LogChunk_pkey" PRIMARY KEY ("id")
);

-- ConvertLogLines
INSERT INTO "LogChunk" ("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at")
SELECT "deployId", min("seq"), max("seq"), "host", "stream", string_agg("text", E'\n' ORDER BY "seq"), "at"
FROM (
    SELECT "deployId", "seq", "host", "stream", replace("text", E'\n', ' ') AS "text", "at", "run",
        (row_number() OVER (PARTITION BY "deployId", "host", "stream", "at", "run" ORDER BY "seq") - 1) / 1000 AS "part"
    FROM (
        SELECT "deployId", "seq", "host", "stream", "text", "at",
            "seq" - row_number() OVER (PARTITION BY "deployId", "host", "stream", "at" ORDER BY "seq") AS "run"
        FROM "LogLine"
    ) AS "runs"
) AS "parts"
GROUP BY "deployId", "host", "stream", "at", "run", "part";

-- DropTable
DROP TABLE "LogLine";

-- CreateIndex
CREATE UNIQUE INDEX "LogChunk_deployId_firstSeq_key" ON "LogChunk"("deployId", "firstSeq");

-- CreateIndex
CREATE INDEX "LogChunk_deployId_lastSeq_idx" ON "LogChunk"("deployId", "lastSeq");

-- AddForeignKey
ALTER TABLE "LogChunk" ADD CONSTRAINT "LogChunk_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy"("id") ON DELETE CASCADE ON UPDATE CASCADE;
