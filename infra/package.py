"""Lays out what `sam deploy` needs from one cargo build of every function (`make package`): for each function of
template.yaml, `.aws-sam/build/<LogicalId>/bootstrap` (its arm64 binary), and `.aws-sam/build/template.yaml`, the
template with each function's `CodeUri` pointing there — what `sam build` would have produced, without one cargo
invocation per function. `sam deploy` reads `.aws-sam/build/template.yaml` by default. Prints each function's
binary and zipped (upload) size, and fails on a binary over the 8 MB goal unless told otherwise."""
import io
import os
import re
import shutil
import stat
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "target", "aarch64-unknown-linux-gnu", "deploy")
OUT = os.path.join(ROOT, ".aws-sam", "build")
LIMIT = 8 * 1024 * 1024

FUNCTION = re.compile(r"^  (\w+):\n    Type: AWS::Serverless::Function\n"
                      r"    Metadata: \{ BuildMethod: rust-cargolambda, BuildProperties: \{ Binary: ([\w-]+) \} \}\n"
                      r"    Properties:\n", re.M)


def zipped_size(path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(path, "rb") as f:
            z.writestr(info, f.read())
    return buf.tell()


def main():
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = f.read()
    functions = FUNCTION.findall(template)
    declared = template.count("Type: AWS::Serverless::Function")
    if len(functions) != declared:
        # A function written another way would otherwise be left out of the package without a word.
        sys.exit(f"package: {declared} functions in template.yaml, {len(functions)} in the expected layout")
    shutil.rmtree(OUT, ignore_errors=True)
    rows, over = [], []
    for logical_id, binary in functions:
        src = os.path.join(TARGET, binary)
        if not os.path.exists(src):
            sys.exit(f"package: {src} is missing: run `make package`")
        dest = os.path.join(OUT, logical_id)
        os.makedirs(dest)
        shutil.copyfile(src, os.path.join(dest, "bootstrap"))
        os.chmod(os.path.join(dest, "bootstrap"), 0o755 | stat.S_IRUSR)
        size, upload = os.path.getsize(src), zipped_size(src)
        rows.append((binary, size, upload))
        if size > LIMIT:
            over.append(binary)
    # Each function's code is its own folder; nothing is left for `sam build` to do.
    built = FUNCTION.sub(lambda m: (f"  {m.group(1)}:\n    Type: AWS::Serverless::Function\n"
                                    f"    Properties:\n      CodeUri: {m.group(1)}\n"), template)
    with open(os.path.join(OUT, "template.yaml"), "w") as f:
        f.write(built)
    for binary, size, upload in sorted(rows, key=lambda r: -r[1]):
        print(f"{binary:<28} {size / 1e6:6.2f} MB  zipped {upload / 1e6:5.2f} MB")
    total = sum(r[2] for r in rows)
    print(f"package: {len(rows)} functions in {OUT}; upload {total / 1e6:.1f} MB in all, "
          f"largest binary {max(r[1] for r in rows) / 1e6:.2f} MB")
    if over and os.environ.get("PACKAGE_ALLOW_LARGE") != "1":
        sys.exit(f"package: over 8 MB: {', '.join(over)}")


if __name__ == "__main__":
    main()
