"""OpenAI-compatible chat adapter (LangChain `ChatOpenAI`): the one module that imports LangChain.

Works against any OpenAI-compatible base URL (OpenAI, Azure-style gateways, vLLM, Ollama,
LiteLLM). Structured output is requested as a strict `json_schema` response format (what
`with_structured_output(..., method="json_schema")` sends); the reply comes back as raw text,
because the draft stage validates it with Pydantic itself and feeds the errors to a repair
attempt. Timeouts and bounded retries with backoff on 429/5xx are the openai client's own
(`timeout`, `max_retries`); each HTTP request also has a hard deadline of `timeout` seconds,
body included. A reply the model stopped short (cut off at max_tokens, content filter,
refusal) comes back with its text, its usage and its `stop_reason`, so the caller
records why it is unusable and counts what it cost; whatever else fails, or a reply that is
not a chat completion at all, becomes `Unavailable`.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from alignment import abandonable
from alignment.chat import ChatReply, Message, Usage
from alignment.errors import Unavailable
from alignment.llm_budget import estimate_tokens
from alignment.settings import LLMSettings
from alignment.telemetry import LLM_CALLS, LLM_SECONDS, LLM_TOKENS

# The transport handed to the SDK must come from the HTTP library it runs on: openai>=3 runs
# on httpx2 (httpx's API under another name), earlier versions on httpx.
if int(openai.__version__.split(".")[0]) >= 3:
    import httpx2 as httpx
else:  # pragma: no cover - older SDKs
    import httpx  # type: ignore[no-redef]

# Strict structured output rejects these JSON-schema keywords; Pydantic still enforces them.
_UNSUPPORTED = ("minLength", "maxLength", "default")
_LC_MESSAGE = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
REFUSAL_KEPT = 500  # characters of a refusal kept in the reason
PROVIDER_SAID_KEPT = 300  # characters of a provider's error message kept in the details
ABANDON_CHECK_S = 0.1  # how soon a request notices its caller gave up (abandonable.py)


def provider_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema sent to the provider: Pydantic's, minus keywords strict mode refuses."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in _UNSUPPORTED}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(copy.deepcopy(schema.model_json_schema()))


class DeadlineTransport(httpx.BaseTransport):
    """A hard deadline on one HTTP request to the provider, reply body included.

    httpx's timeouts bound each connect, write and read, so a server that sends a byte now and
    then holds the call for ever. Here the request runs on a worker thread and the caller
    waits at most `seconds`; an overrun raises `ReadTimeout`, which the openai client treats
    like any timeout (retried, then `APITimeoutError`). The abandoned worker stops at the next
    chunk it receives and closes its connection. Fits non-streaming calls: the body is read
    whole before the response is handed on. A caller that gave up on the call (a cancelled
    job, `alignment.abandonable`) ends the wait within `ABANDON_CHECK_S`, and the openai
    client's retries then fail at once instead of asking again.
    """

    def __init__(self, inner: httpx.BaseTransport, seconds: float) -> None:
        self._inner, self.seconds = inner, seconds

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        given_up = abandonable.abandoned()
        if given_up is not None and given_up.is_set():  # a retry of a call nobody waits for
            raise httpx.ReadTimeout("the caller gave up on this call", request=request)
        outcome: queue.SimpleQueue[tuple[httpx.Response | None, Exception | None]] = (
            queue.SimpleQueue()
        )
        late = threading.Event()
        worker = threading.Thread(
            target=self._fetch, args=(request, late, outcome), daemon=True, name="llm-request"
        )
        worker.start()
        deadline = time.monotonic() + self.seconds
        while True:
            left = deadline - time.monotonic()
            # In slices when the caller may give up on the call (a job cancelled meanwhile).
            wait = left if given_up is None else min(left, ABANDON_CHECK_S)
            try:
                response, error = outcome.get(timeout=max(wait, 0.0))
                break
            except queue.Empty:
                pass
            if given_up is not None and given_up.is_set():
                late.set()
                raise httpx.ReadTimeout("the caller gave up on this reply", request=request)
            if time.monotonic() >= deadline:
                late.set()
                raise httpx.ReadTimeout(
                    f"no complete reply within {self.seconds:g} s", request=request
                )
        if error is not None:
            raise error
        assert response is not None
        return response

    def _fetch(
        self,
        request: httpx.Request,
        late: threading.Event,
        outcome: queue.SimpleQueue[tuple[httpx.Response | None, Exception | None]],
    ) -> None:
        try:
            response = self._inner.handle_request(request)
            try:
                body = b"".join(_until(late, response.stream, request))
            finally:
                response.close()
            kept = {k: v for k, v in response.extensions.items() if k != "network_stream"}
            whole = httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=httpx.ByteStream(body),
                extensions=kept,
            )
            outcome.put((whole, None))
        except Exception as exc:  # handed to the caller's thread, which raises it
            outcome.put((None, exc))


class DeadlineClient(openai.DefaultHttpxClient):
    """The openai SDK's default HTTP client with every request under a `DeadlineTransport`.

    Wrapped where httpx picks the transport for a URL rather than by passing `transport=`,
    which would turn off httpx's HTTP(S)_PROXY support (`_transport_for_url` is httpx's own;
    the tests' deadline cases run through it).
    """

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self._deadline_s = seconds

    def _transport_for_url(self, url: httpx.URL) -> httpx.BaseTransport:
        return DeadlineTransport(super()._transport_for_url(url), self._deadline_s)


def _until(late: threading.Event, stream: Any, request: httpx.Request) -> Iterator[bytes]:
    for chunk in stream:
        if late.is_set():  # the caller has given up on this reply
            raise httpx.ReadTimeout("abandoned after the deadline", request=request)
        yield chunk


class OpenAIChatModel:
    def __init__(self, settings: LLMSettings) -> None:
        if not settings.base_url:
            raise ValueError("OpenAIChatModel needs GOLDENTHREAD_LLM_BASE_URL")
        _require_url(settings.base_url)
        self.settings = settings
        self.model_name = settings.model
        key = settings.api_key.get_secret_value() if settings.api_key else "unused"
        # Built once: the openai client (and its connection pool) lives inside.
        self._llm = ChatOpenAI(
            base_url=settings.base_url,
            api_key=key,
            model=settings.model,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
            temperature=settings.temperature,
            http_client=DeadlineClient(settings.timeout_s),
        )

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: type[BaseModel],
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatReply:
        structured = self._structured(schema, temperature, max_tokens)
        lc_messages: list[BaseMessage] = [_LC_MESSAGE[m.role](content=m.content) for m in messages]
        started = time.perf_counter()
        try:
            with LLM_SECONDS.time():
                result = structured.invoke(lc_messages)
        except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
            # The SDK's parse() raises on these finish reasons, reply and all; the reply was
            # paid for, so it is returned (and counted) with the reason it cannot be used.
            return self._reply(messages, *_cut_short(exc, max_tokens, self.model_name), started)
        except openai.APITimeoutError as exc:
            raise self._down(f"did not answer within {self.settings.timeout_s:g} s", exc) from exc
        except openai.APIConnectionError as exc:
            raise self._down("could not be reached", exc) from exc
        except openai.APIStatusError as exc:
            # The client retries only these (and what the provider marks retryable).
            retried = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            marked = exc.response.headers.get("x-should-retry")
            retried = marked == "true" if marked in ("true", "false") else retried
            raise self._down(f"answered HTTP {exc.status_code}", exc, retried=retried) from exc
        except openai.OpenAIError as exc:
            raise self._down(f"failed ({type(exc).__name__})", exc, retried=False) from exc
        except (ValueError, LookupError, TypeError) as exc:
            # A 200 whose body is no chat completion (a gateway's HTML page, no `choices`):
            # the SDK and LangChain fail on it with plain Python errors.
            raise self._down(
                "sent a reply that is not a chat completion", exc, retried=False
            ) from exc
        return self._reply(messages, *_answered(result["raw"], self.model_name), started)

    def _structured(
        self, schema: type[BaseModel], temperature: float | None, max_tokens: int | None
    ) -> Any:
        update: dict[str, Any] = {}
        if temperature is not None:
            update["temperature"] = temperature
        if max_tokens is not None:
            update["max_tokens"] = max_tokens
        llm = self._llm.model_copy(update=update) if update else self._llm
        return llm.with_structured_output(
            {
                "name": schema.__name__,
                "description": (schema.__doc__ or schema.__name__).strip().splitlines()[0],
                "schema": provider_schema(schema),
                "strict": True,
            },
            method="json_schema",
            include_raw=True,
        )

    def _reply(
        self,
        messages: Sequence[Message],
        text: str,
        usage: Usage | None,
        model: str,
        stop_reason: str | None,
        started: float,
    ) -> ChatReply:
        # A provider that reports no usage would otherwise cost nothing against the budget.
        usage = usage or Usage(
            estimate_tokens(list(messages)), estimate_tokens([Message("assistant", text)])
        )
        LLM_CALLS.labels("answered" if stop_reason is None else "stopped").inc()
        LLM_TOKENS.labels("input").inc(usage.input_tokens)
        LLM_TOKENS.labels("output").inc(usage.output_tokens)
        return ChatReply(
            content=text,
            usage=usage,
            latency_ms=round((time.perf_counter() - started) * 1000),
            model=model,
            stop_reason=stop_reason,
        )

    def _down(self, what: str, exc: Exception, *, retried: bool = True) -> Unavailable:
        given_up = abandonable.abandoned()
        # A call its job gave up on (cancelled) is no provider failure: counted apart, or every
        # cancel during drafting would read as a provider outage on the dashboards.
        abandoned = given_up is not None and given_up.is_set()
        LLM_CALLS.labels("abandoned" if abandoned else type(exc).__name__).inc()
        retries = self.settings.max_retries
        after = f" (after {retries} retr{'y' if retries == 1 else 'ies'})" if retried else ""
        details = {"provider": redacted(self.settings.base_url)}
        said = self._provider_said(exc)
        if said:
            details["provider_message"] = said
        details["error"] = type(exc).__name__
        return Unavailable(
            f"the LLM provider {what}{after}; nothing was drafted or stored", details=details
        )

    def _provider_said(self, exc: Exception) -> str | None:
        """The provider's own reason ("Incorrect API key provided", "The model ... does not
        exist"), in its words: the body's `error.message` (the SDK hands on the `error` object
        of OpenAI's answers; gateways may send it whole, or send plain text). Cut short, and
        never with the configured key, should a gateway repeat it."""
        body = getattr(exc, "body", None)
        if isinstance(body, dict):
            body = body.get("error", body)
            body = body.get("message") if isinstance(body, dict) else body
        if not isinstance(body, str) or not body.strip():
            return None
        said = " ".join(body.split())
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        if len(key) >= 8:
            said = said.replace(key, "***")
        return said[:PROVIDER_SAID_KEPT]


Answer = tuple[str, Usage | None, str, str | None]  # text, usage (None: unreported), model, stop


def _answered(raw: AIMessage, default_model: str) -> Answer:
    content = raw.content if isinstance(raw.content, str) else _text(raw.content)
    usage = raw.usage_metadata
    model = str(raw.response_metadata.get("model_name") or default_model)
    refusal = raw.additional_kwargs.get("refusal")
    stop = f"the model refused: {str(refusal)[:REFUSAL_KEPT]}" if refusal else None
    counted = (
        Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))
        if usage
        else None
    )
    return content or "", counted, model, stop


def _cut_short(exc: openai.OpenAIError, max_tokens: int | None, default_model: str) -> Answer:
    completion = getattr(exc, "completion", None)
    if isinstance(exc, openai.LengthFinishReasonError):
        limit = f" ({max_tokens} tokens)" if max_tokens else ""
        why = f"the model's output was cut off at max_tokens{limit}; the reply is incomplete"
    else:
        why = "the provider's content filter stopped the model's output"
    if completion is None or not completion.choices:
        return "", None, default_model, why
    text = completion.choices[0].message.content or ""
    usage = completion.usage
    counted = Usage(usage.prompt_tokens, usage.completion_tokens) if usage else None
    return text, counted, completion.model or default_model, why


def _require_url(url: str) -> None:
    """A base URL the client can call at all: "not-a-url" or "localhost:11434" (no scheme)
    would only fail at the first call, as "could not be reached", which sends a person to
    look for a network problem instead of at the setting."""
    parts = urlsplit(url)
    try:
        _ = parts.port  # raises for "localhost:abc"
        port_readable = True
    except ValueError:
        port_readable = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_readable:
        # The value itself is not repeated: this message also reaches API callers and failed
        # jobs, and a key pasted into the wrong setting would be shown to them.
        raise Unavailable(
            "GOLDENTHREAD_LLM_BASE_URL is not a URL; it needs http:// or https:// and a host, "
            "e.g. https://api.openai.com/v1 or http://localhost:11434/v1"
        )


def redacted(url: str | None) -> str | None:
    """The provider's address without credentials: no user:password@ and no query (Azure
    and some proxies take `?api-key=` there)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _text(parts: list[Any]) -> str:
    return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in parts)
