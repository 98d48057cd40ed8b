-- A GitHub login linked with `iam github` grants roles only once proven through GitHub's device flow.
ALTER TABLE "User" ADD COLUMN "githubVerifiedAt" TIMESTAMP(3);
