"""Fixed words of the site: what each task is about and what it stresses.

The system prompt itself is never written here: pages show the one the records ran with
(`SiteData.system_prompts`). A task not listed here simply has no "about" paragraph.
"""

from __future__ import annotations

TASK_ABOUT: dict[str, dict[str, str]] = {
    "chat": {
        "summary": "Open conversation: the project's 220 chat prompts (questions, advice, small "
        "talk), answered by an assistant asked to be thorough and to explain its reasoning.",
        "stresses": "Long responses, so the decode phase (one token at a time, bound by memory "
        "bandwidth) dominates time and energy; a model that talks more spends more per response.",
    },
    "chat-concise": {
        "summary": "The same chat prompts, with a system prompt asking for answers as short as "
        "they can be while still useful.",
        "stresses": "Short responses: the prompt (prefill) and time to first token weigh more, "
        "and energy per response drops for models that follow the instruction. Compare it with "
        "chat to see how much a model's verbosity costs.",
    },
    "instruct": {
        "summary": "Instructions to carry out: the project's 220 instruction prompts (rewrite, "
        "classify, outline, extract, explain), sometimes with an input text to work on.",
        "stresses": "Longer prompts than chat and responses of very different lengths (a one-word "
        "label or a full outline), so both prefill and decode matter.",
    },
    "instruct-concise": {
        "summary": "The same instructions, with a system prompt asking for as few words as the "
        "task allows.",
        "stresses": "Prefill-heavy: with short answers, the prompt and TTFT dominate; it rewards "
        "models that stop early.",
    },
}
