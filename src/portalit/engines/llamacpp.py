"""Chat with a GGUF model through llama-cpp-python: the fast CPU engine behind local-cpu."""
from __future__ import annotations

import threading
from collections.abc import Iterator

from .types import Generation, chat_messages


def available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("llama_cpp") is not None
    except ValueError:  # sys.modules["llama_cpp"] is None: import blocked on purpose
        return False


def default_threads() -> int:
    """Threads for a llama.cpp call now (portalit.threads: the cores other processes leave free).

    llama-cpp-python's own default, half the cores, is one thread on a 2-core laptop."""
    from .. import threads

    return threads.threads()


ADAPT_EVERY = 16  # generated tokens between two looks at the load during one streamed answer


class LlamaCppChat:
    """One loaded GGUF model. Calls are serialised: a llama.cpp context is not thread-safe.

    Each call starts from an empty context (reset): llama-cpp-python otherwise reuses the previous
    prompt's cached prefix, and evaluating the rest in a different batch split changes the
    floating-point sums enough to flip a greedy choice, so temperature 0 would depend on the call
    before it.
    """

    engine = "llama.cpp"

    def __init__(self, path: str, n_ctx: int = 2048, n_threads: int | None = None,
                 template: tuple[str, str] | None = None, lora=None):
        from llama_cpp import Llama

        from llama_cpp._utils import suppress_stdout_stderr

        self.path = str(path)
        # verbose=False still lets llama.cpp print a note on Gemma's sliding-window cache straight to
        # the process's stderr, which a notebook shows as a red warning: silence the load itself.
        with suppress_stdout_stderr(disable=False):
            self.llm = Llama(
                model_path=self.path, n_ctx=n_ctx, n_threads=n_threads or default_threads(),
                n_threads_batch=n_threads or default_threads(),
                n_gpu_layers=0, verbose=False, lora_path=str(lora) if lora else None,
            )
        if template:  # the file has no chat template: the catalogue's, ending a turn at its stop text
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            text, stop = template
            self.llm.chat_handler = Jinja2ChatFormatter(
                text, eos_token=stop, bos_token=self.llm.detokenize([self.llm.token_bos()], special=True).decode(),
                stop_token_ids=[self.llm.token_eos()]).to_chat_handler()
        self.lock = threading.Lock()
        self.n_threads = None if n_threads else 0  # 0: chosen per call; None: fixed by the caller

    def _use_threads(self) -> None:
        """Before each call, and between pieces of a long one: as many threads as free cores."""
        if self.n_threads is None:
            return
        n = default_threads()
        if n != self.n_threads:
            self.llm._ctx.set_n_threads(n, n)
            self.n_threads = n

    def generate(self, messages, temperature=0.0, max_tokens=256, seed=0, stop=None) -> Generation:
        with self.lock:
            self.llm.reset()
            self._use_threads()
            out = self.llm.create_chat_completion(
                messages=chat_messages(messages), temperature=temperature, max_tokens=max_tokens,
                seed=seed, stop=stop,
            )
        choice = out["choices"][0]
        usage = out["usage"]
        return Generation(
            choice["message"]["content"] or "", usage["prompt_tokens"], usage["completion_tokens"],
            choice.get("finish_reason") or "stop",
        )

    def stream(self, messages, temperature=0.0, max_tokens=256, seed=0, stop=None) -> Iterator[str]:
        """Yields text pieces; the finish reason and token counts are left in self.last_stream."""
        with self.lock:
            self.llm.reset()
            self._use_threads()
            completion_tokens, prompt_tokens = 0, None
            finish = "stop"
            for chunk in self.llm.create_chat_completion(
                messages=chat_messages(messages), temperature=temperature, max_tokens=max_tokens,
                seed=seed, stop=stop, stream=True,
            ):
                choice = chunk["choices"][0]
                piece = choice["delta"].get("content")
                if piece:
                    if prompt_tokens is None:  # the prompt is evaluated, the first token not yet
                        prompt_tokens = self.llm.n_tokens
                    completion_tokens += 1
                    if completion_tokens % ADAPT_EVERY == 0:
                        self._use_threads()
                    yield piece
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
            # The stream carries no usage block. At the first piece the context held exactly the
            # prompt (afterwards it lacks the last token generated, which is never evaluated).
            if prompt_tokens is None:
                prompt_tokens = max(0, self.llm.n_tokens - completion_tokens)
            self.last_stream = Generation("", prompt_tokens, completion_tokens, finish)


vocabularies: dict[str, object] = {}  # GGUF path -> vocabulary-only Llama (closed by engines.close_all)


def formatted(messages, model: str, add_generation_prompt: bool = True):
    """(the text `model` reads for `messages`, a function counting a text's tokens): the chat
    template the engine applies (the catalogue's, else the file's own), read from the GGUF's
    vocabulary and metadata alone, without loading the weights."""
    from llama_cpp import Llama
    from llama_cpp._utils import suppress_stdout_stderr
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from . import resolve_chat_path, template

    path = str(resolve_chat_path(model))
    if path not in vocabularies:
        with suppress_stdout_stderr(disable=False):
            vocabularies[path] = Llama(model_path=path, vocab_only=True, verbose=False)
    llm = vocabularies[path]
    bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() != -1 else ""
    custom = template(model)
    if custom:
        text, eos = custom
    else:
        text, eos = llm.metadata["tokenizer.chat_template"], llm._model.token_get_text(llm.token_eos())
    prompt = Jinja2ChatFormatter(text, eos_token=eos, bos_token=bos, add_generation_prompt=add_generation_prompt)(
        messages=chat_messages(messages)).prompt
    return prompt, lambda piece: llm.tokenize(piece.encode(), add_bos=False, special=True)
