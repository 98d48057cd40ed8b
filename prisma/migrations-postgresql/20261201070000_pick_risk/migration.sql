-- A pick's risk score (0-100) and the one or two reasons that drive it, computed when it is requested.
ALTER TABLE "CherryPick" ADD COLUMN "risk" INTEGER;

ALTER TABLE "CherryPick" ADD COLUMN "riskReasons" TEXT;
