"""Packages, computed: every assistant* package, and the top-level prompts/ folder shipped as assistant.prompt_files.

pyproject.toml holds everything else. Its `packages.find` cannot map a folder outside the package
into it, and an explicit list would have to be edited with every new subpackage.
"""
from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["assistant*"]), "assistant.prompt_files"],
    package_dir={"assistant.prompt_files": "prompts"},
)
