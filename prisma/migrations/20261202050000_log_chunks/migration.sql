-- Deploy logs as chunks instead of a row per line (issue 11: storing one row per line was 60% of a 500k-line
-- deploy). Existing logs are converted: each run of consecutive lines of one deploy, host, stream and time
-- (seq - row_number() is constant along such a run) becomes one chunk of at most 1000 lines, joined by '\n'.

-- CreateTable
CREATE TABLE "LogChunk" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "deployId" INTEGER NOT NULL,
    "firstSeq" INTEGER NOT NULL,
    "lastSeq" INTEGER NOT NULL,
    "host" TEXT,
    "stream" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    CONSTRAINT "LogChunk_deployId_fkey" FOREIGN KEY ("deployId") REFERENCES "Deploy" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- ConvertLogLines
INSERT INTO "LogChunk" ("deployId", "firstSeq", "lastSeq", "host", "stream", "text", "at")
SELECT "deployId", min("seq"), max("seq"), "host", "stream", group_concat("text", char(10) ORDER BY "seq"), "at"
FROM (
    SELECT "deployId", "seq", "host", "stream", replace("text", char(10), ' ') AS "text", "at", "run",
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
