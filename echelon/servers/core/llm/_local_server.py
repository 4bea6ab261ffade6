"""A small OpenAI-compatible HTTP server around ONE llama.cpp model, shared by every level on a machine.

``python -m echelon.servers.core.llm._local_server --model PATH [--port 0] [--idle-timeout 900] [--state-file F]``
serves ``POST /v1/chat/completions``, ``GET /v1/models`` and ``GET /health`` on 127.0.0.1. Structured output
(``response_format`` ``json_object`` with a ``schema``, or ``json_schema``) is grammar-constrained. Tool
calling for a small model is grammar-constrained too: the model must answer with either ``{"tool": ...,
"arguments": ...}`` or ``{"answer": ...}``, which goes back in OpenAI's ``tool_calls`` wire format. Generation
is serialized (one model, few cores). The server exits after ``--idle-timeout`` seconds without requests, on
SIGTERM, and when the supervisor named by ``--supervised-by`` is gone (the shared server runs under
``_local_supervisor``, which records how it ends). ``faulthandler`` writes a fatal signal's traceback to the log.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import faulthandler
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread
import uvicorn
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ._prompt_cache import caching_llama
from ._runaway import collect
from ._tool_text import tool_text

logger = logging.getLogger("echelon.local_server")

DEFAULT_MAX_TOKENS = 1024
ENV_THREADS = "ECHELON_LOCAL_THREADS"
ENV_BATCH_THREADS = "ECHELON_LOCAL_BATCH_THREADS"
# "signatures": tools described as short signatures (``_tool_text``), 27% fewer tokens for the demo's tools; the
# default stays the JSON schema until the question set says otherwise (with signatures and the raw_result_answer
# policy together, the hierarchy got 1 of 5 dev questions right against 2 of 5).
ENV_TOOL_TEXT = "ECHELON_LOCAL_TOOL_TEXT"
_ANY_OBJECT: dict[str, Any] = {"type": "object"}


# --- the wire format (only what we use; unknown OpenAI fields are accepted and ignored) ---------------------


class WireFunctionCall(BaseModel):
    name: str
    arguments: str | dict[str, Any] = "{}"


class WireToolCall(BaseModel):
    id: str = ""
    type: Literal["function"] = "function"
    function: WireFunctionCall


class WireMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[WireToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class WireFunction(BaseModel):
    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: dict(_ANY_OBJECT))


class WireTool(BaseModel):
    type: Literal["function"] = "function"
    function: WireFunction


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[WireMessage] = Field(min_length=1)
    tools: list[WireTool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False


class RequestError(ValueError):
    """The request cannot be served as asked (answered with HTTP 400)."""


# --- turning an OpenAI request into a prompt + a JSON schema, and the model's JSON back into a response -----


def response_schema(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """The JSON schema a ``response_format`` asks for; ``{}`` means "any JSON", None means free text."""
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return dict(response_format.get("schema") or {})
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        return dict(spec.get("schema") or {})
    raise RequestError(
        f"response_format type {kind!r} is not supported (use text, json_object or json_schema)"
    )


def _selected_tools(request: ChatRequest) -> tuple[list[WireFunction], bool]:
    """The tools the model may call and whether it must call one (``tool_choice``)."""
    tools = [t.function for t in request.tools or []]
    choice = request.tool_choice
    if not tools or choice in (None, "auto"):
        return tools, False
    if choice == "none":
        return [], False
    if choice == "required":
        return tools, True
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        chosen = [t for t in tools if t.name == name]
        if not chosen:
            raise RequestError(f"tool_choice names {name!r}, which is not in tools")
        return chosen, True
    raise RequestError(f"tool_choice {choice!r} is not supported (use auto, none, required or a function)")


def tool_prompt(tools: list[WireFunction], required: bool, answer_is_json: bool) -> str:
    """The system-prompt section that describes the tools and the JSON reply format a small model must use."""
    if os.environ.get(ENV_TOOL_TEXT, "").strip() == "signatures":
        lines = ["You can call these tools (each with its arguments):"]
        lines.extend(tool_text(tool.name, tool.description, tool.parameters) for tool in tools)
    else:
        lines = ["You can call these tools:"]
        for tool in tools:
            params = json.dumps(tool.parameters, separators=(",", ":"))
            lines.append(
                f"- {tool.name}: {tool.description.strip() or '(no description)'}\n  arguments schema: {params}"
            )
    lines.append("\nReply with exactly one JSON object and nothing else:")
    lines.append('- to call a tool: {"tool": "<tool name>", "arguments": {<arguments matching its schema>}}')
    if not required:
        answer = "<your answer as JSON>" if answer_is_json else '"<your final answer>"'
        lines.append(f'- to give the final answer: {{"answer": {answer}}}')
        lines.append("Call a tool when you need its result; answer once you have what you need.")
    return "\n".join(lines)


def embed_schema(schema: dict[str, Any], prefix: str, defs: dict[str, Any]) -> dict[str, Any]:
    """Copy ``schema`` for nesting inside another one: move its ``$defs`` into ``defs`` under ``prefix`` and
    rewrite its local ``$ref``s to match, so several tools' schemas can share one root."""
    schema = copy.deepcopy(schema)
    local_defs: dict[str, Any] = {**schema.pop("definitions", {}), **schema.pop("$defs", {})}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                for base in ("#/$defs/", "#/definitions/"):
                    if ref.startswith(base):
                        node["$ref"] = "#/$defs/" + prefix + ref[len(base) :]
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for item in node:
                rewrite(item)
        return node

    for name, definition in local_defs.items():
        defs[prefix + name] = rewrite(definition)
    return rewrite(schema)


def tool_call_schema(
    tools: list[WireFunction], required: bool, answer: dict[str, Any] | None
) -> dict[str, Any]:
    """anyOf: a call to one of ``tools`` with its own arguments, or (unless required) a final answer."""
    defs: dict[str, Any] = {}
    options: list[dict[str, Any]] = []
    for index, tool in enumerate(tools):
        arguments = embed_schema(tool.parameters or _ANY_OBJECT, f"t{index}_", defs)
        options.append(
            {
                "type": "object",
                "properties": {"tool": {"const": tool.name}, "arguments": arguments},
                "required": ["tool", "arguments"],
            }
        )
    if not required:
        answer_schema = {"type": "string"} if answer is None else embed_schema(answer, "answer_", defs)
        options.append({"type": "object", "properties": {"answer": answer_schema}, "required": ["answer"]})
    schema: dict[str, Any] = {"anyOf": options}
    if defs:
        schema["$defs"] = defs
    return schema


def render_messages(messages: list[WireMessage], extra_system: str) -> list[dict[str, str]]:
    """Plain role/content messages for the model's chat template: tool calls become the JSON the model writes,
    tool results become user turns naming the call, and all system text is merged into one system message."""
    system = [m.text() for m in messages if m.role in ("system", "developer") and m.text()]
    if extra_system:
        system.append(extra_system)
    rendered: list[dict[str, str]] = [{"role": "system", "content": "\n\n".join(system)}] if system else []
    call_names: dict[str, str] = {}
    for message in messages:
        if message.role in ("system", "developer"):
            continue
        if message.role == "assistant":
            parts = [message.text()] if message.text() else []
            for call in message.tool_calls or []:
                call_names[call.id] = call.function.name
                parts.append(json.dumps({"tool": call.function.name, "arguments": _arguments(call.function)}))
            rendered.append({"role": "assistant", "content": "\n".join(parts)})
        elif message.role == "tool":
            name = call_names.get(message.tool_call_id or "", message.name or "the tool")
            rendered.append({"role": "user", "content": f"Result of {name}:\n{message.text()}"})
        else:
            rendered.append({"role": "user", "content": message.text()})
    return rendered


def _arguments(call: WireFunctionCall) -> Any:
    if isinstance(call.arguments, dict):
        return call.arguments
    try:
        return json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return call.arguments


def parse_tool_reply(text: str, answer_is_json: bool) -> tuple[str | None, list[dict[str, Any]]]:
    """Split the model's constrained reply into (content, OpenAI tool_calls)."""
    try:
        reply = json.loads(text)
    except json.JSONDecodeError:
        return text, []  # cut off by max_tokens; hand back what there is
    if isinstance(reply, dict) and "tool" in reply:
        call = {
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "type": "function",
            "function": {"name": str(reply["tool"]), "arguments": json.dumps(reply.get("arguments") or {})},
        }
        return None, [call]
    if isinstance(reply, dict) and "answer" in reply:
        answer = reply["answer"]
        return (answer if isinstance(answer, str) and not answer_is_json else json.dumps(answer)), []
    return text, []


# --- the engine: one llama.cpp model, one generation at a time ----------------------------------------------


def default_threads() -> int:
    """CPU threads for generating tokens: ``ECHELON_LOCAL_THREADS``, else leave a core free on small machines and
    skip hyperthreads on larger ones. Measured on 2 cores shared with other work: 2 threads ran at 1-30 tokens/s
    (llama.cpp's threads spin-wait for each other after every token, so one preempted thread stalls all), 1 thread
    at a steady 5."""
    if configured := os.environ.get(ENV_THREADS, "").strip():
        return max(1, int(configured))
    cores = os.cpu_count() or 1
    if cores <= 2:
        return 1
    return cores - 1 if cores <= 4 else cores // 2


def default_batch_threads() -> int:
    """CPU threads for reading the prompt (batches of up to 512 tokens): ``ECHELON_LOCAL_BATCH_THREADS``, else every
    core on small machines and no hyperthreads on larger ones. A batch is long work between two waits, so a
    preempted thread costs little: on 2 cores, 2 threads read 1.66x as fast as 1 when idle, 1.47x beside a process
    busy half the time, 1.12x beside one busy all the time (``benchmarks.prefill_threads``)."""
    if configured := os.environ.get(ENV_BATCH_THREADS, "").strip():
        return max(1, int(configured))
    cores = os.cpu_count() or 1
    return cores if cores <= 4 else cores // 2


class Engine:
    """One loaded ``llama_cpp.Llama`` and the lock that serializes generation on it."""

    def __init__(
        self, model_path: Path, model_id: str, *, n_ctx: int = 8192, n_threads: int | None = None
    ) -> None:
        threads = n_threads or default_threads()
        batch_threads = n_threads or default_batch_threads()
        started = time.perf_counter()
        self.llm = caching_llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=batch_threads,
            verbose=False,
        )
        self.load_seconds = time.perf_counter() - started
        self.model_path = model_path
        self.model_id = model_id
        self.threads = threads
        self.batch_threads = batch_threads
        self.lock = threading.Lock()

    def grammar_for(self, schema: dict[str, Any]) -> Any:
        """A llama.cpp grammar for ``schema``, or None if the converter or llama.cpp cannot handle it."""
        import llama_cpp
        from llama_cpp import LlamaGrammar

        try:
            grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        except Exception as exc:  # the converter raises plain Exceptions for unsupported schema features
            logger.info("schema not convertible to a grammar: %s", exc)
            return None
        vocab = self.llm._model.vocab  # pyright: ignore[reportPrivateUsage]
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar._grammar.encode(), b"root")  # pyright: ignore[reportPrivateUsage]
        if not sampler:
            logger.info("llama.cpp rejected the grammar for a schema")
            return None
        llama_cpp.llama_sampler_free(sampler)
        return grammar

    def _json_grammar(self) -> Any:
        from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

        return LlamaGrammar.from_string(JSON_GBNF, verbose=False)

    def _tools_grammar(self, tools: list[WireFunction], required: bool, answer: dict[str, Any] | None) -> Any:
        # A schema too complex for the converter degrades to "any object" for that tool, then for all of them.
        simplified = [
            t
            if self.grammar_for(t.parameters or _ANY_OBJECT) is not None
            else t.model_copy(update={"parameters": {}})
            for t in tools
        ]
        for candidate in (simplified, [t.model_copy(update={"parameters": {}}) for t in tools]):
            grammar = self.grammar_for(tool_call_schema(candidate, required, answer))
            if grammar is not None:
                return grammar
        return self._json_grammar()

    def complete(self, request: ChatRequest, abandon: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        """Run one chat completion (blocking: call it from a worker thread); the OpenAI response dict.
        ``abandon()`` turning true (the requester left) stops the generation at the next token."""
        if request.stream:
            raise RequestError("stream=true is not supported by the embedded server; send stream=false")
        schema = response_schema(request.response_format)
        tools, required = _selected_tools(request)
        if tools:
            grammar = self._tools_grammar(tools, required, schema)
            extra = tool_prompt(tools, required, answer_is_json=schema is not None)
        elif schema is not None:
            grammar = (self.grammar_for(schema) if schema else None) or self._json_grammar()
            extra = "Reply with one JSON object only."
        else:
            grammar, extra = None, ""
        messages = render_messages(request.messages, extra)
        max_tokens = request.max_completion_tokens or request.max_tokens or DEFAULT_MAX_TOKENS
        with self.lock:
            logger.info("generating: %d messages, up to %d tokens", len(messages), max_tokens)
            started = time.perf_counter()
            perf_before = self._perf()
            try:
                chunks: Any = self.llm.create_chat_completion(
                    messages=messages,  # type: ignore[arg-type]
                    grammar=grammar,
                    max_tokens=max_tokens,
                    temperature=request.temperature if request.temperature is not None else 0.0,
                    top_p=request.top_p if request.top_p is not None else 0.95,
                    stop=request.stop or [],
                    seed=request.seed,
                    stream=True,
                )
                streamed = collect(chunks, lambda: self.llm.n_tokens, abandon)
            except ValueError as exc:  # e.g. "Requested tokens (…) exceed context window of …"
                raise RequestError(str(exc)) from exc
            timings = self._timings(perf_before, time.perf_counter() - started)
            logger.info(
                "done: %d prompt tokens evaluated in %.1fs (%.1f/s), %d generated in %.1fs (%.1f/s), "
                "%.1fs in all (%s)",
                timings["prompt_n"],
                timings["prompt_ms"] / 1000,
                timings["prompt_per_second"],
                timings["predicted_n"],
                timings["predicted_ms"] / 1000,
                timings["predicted_per_second"],
                timings["wall_ms"] / 1000,
                "tools" if tools else ("json" if schema is not None else "text"),
            )
            # The last token of a reply cut off (by its allowance or a loop) is sampled but not yet in the context.
            prompt_tokens = streamed.context_at_start
            completion_tokens = self.llm.n_tokens - prompt_tokens + (streamed.finish_reason == "length")
            if streamed.abandoned:
                logger.info("stopped after %d tokens: the requester left", completion_tokens)
            elif streamed.loop_period is not None:
                logger.info(
                    "stopped after %d tokens: the reply repeated a %d-character block; it ended %r",
                    completion_tokens,
                    streamed.loop_period,
                    streamed.text[-120:],
                )
            elif streamed.finish_reason == "length":
                logger.info("the reply used its whole allowance; it ended %r", streamed.text[-200:])
        text = streamed.text
        finish: str = streamed.finish_reason
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if tools:
            content, calls = parse_tool_reply(text, answer_is_json=schema is not None)
            message = {"role": "assistant", "content": content}
            if calls:
                message["tool_calls"] = calls
                finish = "tool_calls"
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model_id,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "timings": timings,
        }

    def _perf(self) -> tuple[float, int, float, int]:
        import llama_cpp

        data = llama_cpp.llama_perf_context(self.llm._ctx.ctx)  # pyright: ignore[reportPrivateUsage]
        return data.t_p_eval_ms, data.n_p_eval, data.t_eval_ms, data.n_eval

    def _timings(self, before: tuple[float, int, float, int], wall: float) -> dict[str, float]:
        """llama.cpp server-style timings: prompt tokens actually evaluated (a cached prefix is skipped)."""
        after = self._perf()
        prompt_ms, prompt_n = after[0] - before[0], after[1] - before[1]
        predicted_ms, predicted_n = after[2] - before[2], after[3] - before[3]
        return {
            "prompt_n": prompt_n,
            "prompt_ms": round(prompt_ms, 2),
            "prompt_per_second": round(prompt_n / prompt_ms * 1000, 2) if prompt_ms > 0 else 0.0,
            "predicted_n": predicted_n,
            "predicted_ms": round(predicted_ms, 2),
            "predicted_per_second": round(predicted_n / predicted_ms * 1000, 2) if predicted_ms > 0 else 0.0,
            "wall_ms": round(wall * 1000, 2),
        }


# --- HTTP ---------------------------------------------------------------------------------------------------


@dataclass
class Activity:
    """When the server last did something, and how many completions are running (for the idle timeout)."""

    last: float = field(default_factory=time.monotonic)
    in_flight: int = 0

    def touch(self) -> None:
        self.last = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.in_flight else time.monotonic() - self.last


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": None}}, status_code=status
    )


async def _notice_leaving(request: Request, left: threading.Event) -> None:
    """Set ``left`` when the client disconnects: a benchmark or a cancelled run that stopped its process must not
    keep the one model generating, minutes long, for nobody while the next request waits."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    left.set()


def build_app(engine: Engine, activity: Activity) -> Starlette:
    """The Starlette app: chat completions, models, health."""
    generation = anyio.Lock()  # queue requests here rather than parking worker threads on engine.lock

    async def chat_completions(request: Request) -> JSONResponse:
        activity.touch()
        activity.in_flight += 1
        try:
            try:
                body = ChatRequest.model_validate(await request.json())
            except (ValidationError, ValueError) as exc:
                return _error(400, f"invalid chat completion request: {exc}")
            left = threading.Event()
            result: dict[str, Any] | None = None
            async with anyio.create_task_group() as watch:
                watch.start_soon(_notice_leaving, request, left)
                try:
                    async with generation:
                        if not left.is_set():
                            result = await anyio.to_thread.run_sync(engine.complete, body, left.is_set)
                finally:
                    watch.cancel_scope.cancel()
            if result is None:
                logger.info("a queued request's requester left before its turn; not generated")
                return _error(499, "the client closed the request")
            return JSONResponse(result)
        except RequestError as exc:
            return _error(400, str(exc))
        except Exception as exc:
            logger.exception("chat completion failed")
            return _error(500, f"generation failed: {exc}", "server_error")
        finally:
            activity.in_flight -= 1
            activity.touch()

    async def models(_request: Request) -> JSONResponse:
        activity.touch()
        entry = {"id": engine.model_id, "object": "model", "created": 0, "owned_by": "echelon"}
        return JSONResponse({"object": "list", "data": [entry]})

    async def health(_request: Request) -> JSONResponse:
        activity.touch()
        return JSONResponse(
            {
                "status": "ok",
                "model": engine.model_id,
                "model_path": str(engine.model_path),
                "pid": os.getpid(),
                "load_seconds": round(engine.load_seconds, 3),
                "threads": engine.threads,
                "batch_threads": engine.batch_threads,
            }
        )

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write a JSON state file atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


class _Server(uvicorn.Server):
    """uvicorn's server, leaving signals to ``_exit_on_signals``: uvicorn would install its handlers only once
    serving (too late for a SIGTERM right after start-up) and re-raise the signal after shutdown (which would
    kill the process before it removes its state file)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield


@contextlib.contextmanager
def _exit_on_signals(server: uvicorn.Server) -> Generator[None]:
    """SIGTERM/SIGINT ask ``server`` to shut down gracefully (main thread only, as Python requires)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = (signal.SIGINT, signal.SIGTERM)
    original = {sig: signal.signal(sig, server.handle_exit) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in original.items():
            signal.signal(sig, handler)


async def _watch(server: Any, activity: Activity, idle_timeout: float, supervisor: int | None) -> None:
    """Ask ``server`` to exit after ``idle_timeout`` idle seconds (0: never), or once its supervisor is gone."""
    interval = min(5.0, max(idle_timeout / 4, 0.05)) if idle_timeout > 0 else 5.0
    while not server.should_exit:
        await anyio.sleep(interval)
        if idle_timeout > 0 and activity.idle_for() >= idle_timeout:
            logger.warning("no requests for %.0f s: exiting", idle_timeout)
            server.should_exit = True
        if supervisor is not None and os.getppid() != supervisor:
            logger.warning("the supervisor (pid %d) is gone: exiting", supervisor)
            server.should_exit = True


async def serve(
    engine: Engine,
    *,
    host: str,
    port: int,
    idle_timeout: float,
    state_file: Path | None,
    supervisor: int | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, ``idle_timeout`` seconds without requests or the end of ``supervisor``, with
    ``state_file`` kept. The state names the supervisor as the server's pid (stopping it stops both)."""
    activity = Activity()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(engine, activity),
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=3,  # a generation still running then is abandoned (the process exits)
    )
    server = _Server(config)
    url = f"http://{host}:{bound_port}"
    state = {
        "pid": supervisor or os.getpid(),
        "engine_pid": os.getpid(),
        "url": url,
        "port": bound_port,
        "model_id": engine.model_id,
        "model_path": str(engine.model_path),
        "started_at": time.time(),
    }
    with _exit_on_signals(server):
        if state_file is not None:
            write_state(state_file, state)
        print(
            f"echelon local model server: {engine.model_id} loaded in {engine.load_seconds:.2f} s; {url}",
            file=sys.stderr,
        )
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_watch, server, activity, idle_timeout, supervisor)
                await server.serve(sockets=[sock])
                tg.cancel_scope.cancel()
        finally:
            sock.close()
            if state_file is not None:
                _remove_own_state(state_file)


def _remove_own_state(state_file: Path) -> None:
    try:
        if json.loads(state_file.read_text()).get("engine_pid") == os.getpid():
            state_file.unlink()
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="echelon's embedded local model: an OpenAI-compatible server"
    )
    parser.add_argument("--model", required=True, type=Path, help="path to a GGUF model file")
    parser.add_argument("--model-id", help="the model name reported to clients (default: the file name)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (see --state-file)")
    parser.add_argument(
        "--idle-timeout", type=float, default=900.0, help="exit after this many idle seconds (0: never)"
    )
    parser.add_argument("--n-ctx", type=int, default=8192, help="context window in tokens")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help=f"CPU threads, for generating and for reading prompts (default: ${ENV_THREADS} and ${ENV_BATCH_THREADS}, else by core count)",
    )
    parser.add_argument("--state-file", type=Path, help="write {pid, url, port, model} here once serving")
    parser.add_argument("--log-level", default="INFO", help="one line per request goes to the log at INFO")
    parser.add_argument(
        "--supervised-by", type=int, default=None, help="the supervisor's pid (see _local_supervisor)"
    )
    args = parser.parse_args(argv)
    # A fatal signal (SIGILL from an unsupported instruction, SIGSEGV) then leaves a traceback in the log.
    faulthandler.enable(file=sys.stderr, all_threads=True)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s"
    )
    if not args.model.is_file():
        parser.exit(2, f"{parser.prog}: error: model file {args.model} does not exist\n")
    engine = Engine(args.model, args.model_id or args.model.stem, n_ctx=args.n_ctx, n_threads=args.threads)
    anyio.run(
        lambda: serve(
            engine,
            host=args.host,
            port=args.port,
            idle_timeout=args.idle_timeout,
            state_file=args.state_file,
            supervisor=args.supervised_by,
        )
    )
    if engine.lock.locked():
        # Shut down mid-generation: llama.cpp cannot be interrupted and Python would wait for the worker thread
        # to finish (up to max_tokens), so leave now; there is nothing to flush but the log.
        print("echelon local model server: stopped during a generation", file=sys.stderr, flush=True)
        os._exit(0)


if __name__ == "__main__":
    main()
