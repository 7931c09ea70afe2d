"""Prompt templates and style guides (text files), shipped inside the package as `assistant.prompt_files`.

assistant.prompts loads them by name; files of the same name in BIGAN_PROMPTS_DIR replace them.
"""
