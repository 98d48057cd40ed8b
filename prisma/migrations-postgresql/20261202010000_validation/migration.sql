-- Validation window: when the checks began (every host switched) and how the window ended.
ALTER TABLE "Deploy" ADD COLUMN "validationStartedAt" TIMESTAMP(3);

ALTER TABLE "Deploy" ADD COLUMN "validation" TEXT;
