"""AWS: EC2 instances and Auto Scaling groups through boto3 (`tagent.clients.aws`), one client per region."""

from tagent.cloud.aws.provider import AwsCloud, cli_endpoint

__all__ = ["AwsCloud", "cli_endpoint"]
