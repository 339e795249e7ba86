"""A short-lived admin token for a deployed stack, signed with the stack's JWT key: how the first admin user is made
(`POST /user/create` with it), and a way back in if every admin is locked out. Whoever may read the
`JwtSigningKeyArn` secret may run it; the token carries its tenant and expires after `--minutes` (default 15).

    python infra/admin_token.py --secret-id ARN --tenant acme [--minutes 15] [--region R]

Credentials and region come from the usual AWS environment or profile; AWS_ENDPOINT_URL points it at the local
emulator (the tests do)."""
import argparse
import os
import sys

import boto3

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "local"))
import stack  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--secret-id", required=True, help="the stack's JwtSigningKeyArn output")
    p.add_argument("--tenant", required=True, help="the tenant the admin acts in")
    p.add_argument("--minutes", type=int, default=15)
    p.add_argument("--region")
    args = p.parse_args()
    if not 1 <= args.minutes <= 60:
        sys.exit("--minutes must be 1 to 60")
    sm = boto3.client("secretsmanager", region_name=args.region)
    key = sm.get_secret_value(SecretId=args.secret_id)["SecretString"].encode()
    print(stack.sign_jwt(key, "admin", args.tenant, None, hours=args.minutes / 60, sub="break-glass-admin"))


if __name__ == "__main__":
    main()
