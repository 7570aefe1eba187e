# AMI ingest, VEE and demand response arrive with the metering issue.
