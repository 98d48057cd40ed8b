-- Validation window: when the checks began (every host switched) and how the window ended.
ALTER TABLE "Deploy" ADD COLUMN "validationStartedAt" DATETIME;
ALTER TABLE "Deploy" ADD COLUMN "validation" TEXT;
