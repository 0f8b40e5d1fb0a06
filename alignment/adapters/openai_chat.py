"""OpenAI-compatible chat adapter (LangChain `ChatOpenAI`): the one module that imports LangChain.

Works against any OpenAI-compatible base URL (OpenAI, Azure-style gateways, vLLM, Ollama,
LiteLLM). Structured output is requested as a strict `json_schema` response format (what
`with_structured_output(..., method="json_schema")` sends); the reply comes back as raw text,
because the draft stage validates it with Pydantic itself and feeds the errors to a repair
attempt. Timeouts and bounded retries with backoff on 429/5xx are the openai client's own
(`timeout`, `max_retries`); whatever still fails becomes `Unavailable`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from alignment.chat import ChatReply, Message, Usage
from alignment.errors import Unavailable
from alignment.settings import LLMSettings
from alignment.telemetry import LLM_CALLS, LLM_SECONDS, LLM_TOKENS

# Strict structured output rejects these JSON-schema keywords; Pydantic still enforces them.
_UNSUPPORTED = ("minLength", "maxLength", "default")
_LC_MESSAGE = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}


def provider_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema sent to the provider: Pydantic's, minus keywords strict mode refuses."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in _UNSUPPORTED}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(copy.deepcopy(schema.model_json_schema()))


class OpenAIChatModel:
    def __init__(self, settings: LLMSettings) -> None:
        if not settings.base_url:
            raise ValueError("OpenAIChatModel needs GOLDENTHREAD_LLM_BASE_URL")
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
        )

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: type[BaseModel],
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> ChatReply:
        update: dict[str, Any] = {}
        if temperature is not None:
            update["temperature"] = temperature
        if max_tokens is not None:
            update["max_tokens"] = max_tokens
        llm = self._llm.model_copy(update=update) if update else self._llm
        structured = llm.with_structured_output(
            {
                "name": schema.__name__,
                "description": (schema.__doc__ or schema.__name__).strip().splitlines()[0],
                "schema": provider_schema(schema),
                "strict": True,
            },
            method="json_schema",
            include_raw=True,
        )
        lc_messages: list[BaseMessage] = [_LC_MESSAGE[m.role](content=m.content) for m in messages]
        started = time.perf_counter()
        try:
            with LLM_SECONDS.time():
                result = structured.invoke(lc_messages)
        except openai.APITimeoutError as exc:
            raise self._down(f"did not answer within {self.settings.timeout_s:g} s", exc) from exc
        except openai.APIConnectionError as exc:
            raise self._down("could not be reached", exc) from exc
        except openai.APIStatusError as exc:
            raise self._down(f"answered HTTP {exc.status_code}", exc) from exc
        latency_ms = round((time.perf_counter() - started) * 1000)
        raw = result["raw"]
        usage = getattr(raw, "usage_metadata", None) or {}
        LLM_CALLS.labels("answered").inc()
        LLM_TOKENS.labels("input").inc(int(usage.get("input_tokens", 0)))
        LLM_TOKENS.labels("output").inc(int(usage.get("output_tokens", 0)))
        content = raw.content if isinstance(raw.content, str) else _text(raw.content)
        return ChatReply(
            content=content,
            usage=Usage(int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))),
            latency_ms=latency_ms,
            model=str(raw.response_metadata.get("model_name") or self.model_name),
        )

    def _down(self, what: str, exc: Exception) -> Unavailable:
        LLM_CALLS.labels(type(exc).__name__).inc()
        retries = self.settings.max_retries
        return Unavailable(
            f"the LLM provider {what} (after {retries} retr{'y' if retries == 1 else 'ies'}); "
            "nothing was drafted or stored",
            details={"provider": redacted(self.settings.base_url), "error": type(exc).__name__},
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
