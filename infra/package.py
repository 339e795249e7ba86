"""Lays out what `sam deploy` needs from one cargo build (`make package`): `.aws-sam/build/EveryFunction/bootstrap`,
the arm64 `every-function` binary, and `.aws-sam/build/template.yaml`, the template with every function's `CodeUri`
pointing there and its `Handler` kept (the name of the function that binary runs). This is what `sam build` would
produce from template.yaml (it groups functions whose build is the same into one build); `sam deploy` reads
`.aws-sam/build/template.yaml` by default and uploads the one artifact once. Prints the binary's size and its zipped
(upload) size, and fails when the zip is over the 8 MB goal unless told otherwise."""
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
ARTIFACT = "EveryFunction"
LIMIT = 8 * 1024 * 1024

FUNCTION = re.compile(r"^  (\w+):\n    Type: AWS::Serverless::Function\n"
                      r"    Metadata: \{ BuildMethod: rust-cargolambda, BuildProperties: \{ Binary: every-function \} \}\n"
                      r"    Properties:\n      Handler: ([\w-]+)\n", re.M)


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
        # A function written another way would otherwise be deployed without its code.
        sys.exit(f"package: {declared} functions in template.yaml, {len(functions)} in the expected layout")
    src = os.path.join(TARGET, "every-function")
    if not os.path.exists(src):
        sys.exit(f"package: {src} is missing: run `make package`")
    shutil.rmtree(OUT, ignore_errors=True)
    dest = os.path.join(OUT, ARTIFACT)
    os.makedirs(dest)
    shutil.copyfile(src, os.path.join(dest, "bootstrap"))
    os.chmod(os.path.join(dest, "bootstrap"), 0o755 | stat.S_IRUSR)
    built = FUNCTION.sub(lambda m: (f"  {m.group(1)}:\n    Type: AWS::Serverless::Function\n"
                                    f"    Properties:\n      CodeUri: {ARTIFACT}\n      Handler: {m.group(2)}\n"), template)
    with open(os.path.join(OUT, "template.yaml"), "w") as f:
        f.write(built)
    size, upload = os.path.getsize(src), zipped_size(src)
    print(f"package: {len(functions)} functions run {OUT}/{ARTIFACT}/bootstrap: "
          f"{size / 1e6:.2f} MB, zipped (uploaded once) {upload / 1e6:.2f} MB")
    # The deployment package Lambda takes is the zip; its goal is 8 MB (docs/performance.md has both sizes).
    if upload > LIMIT and os.environ.get("PACKAGE_ALLOW_LARGE") != "1":
        sys.exit("package: the zipped artifact is over 8 MB")


if __name__ == "__main__":
    main()
