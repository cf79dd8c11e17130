"""The chat page (`askpapers serve`): a thin Gradio layer over `Assistant.stream()` and uploads.

* `render`: pure functions that turn an `Answer` into escaped HTML (unit tested without a server);
* `page`: the `gr.Blocks` page and its `/chat`, `/ask`, `/add_papers`, `/cancel_upload` endpoints;
* `uploads`: uploaded files → the index (only files this page received, a record cap, progress,
  cancel);
* `serve`: where it listens, the login it requires and login throttling;
* `static/`: the page's CSS and JS.

`gradio` is imported inside `build_app` / `serve` only: importing it takes seconds.
"""

from .page import CONCURRENCY, EXAMPLES, build_app, make_filters, respond
from .render import (EXTRACTIVE_LABEL, REFUSED_LABEL, api_text, cited_numbers, describe_mode, esc, highlight,
                     link_citations, mode_label, plain_text, render_answer, render_error,
                     render_header, render_panel, render_partial, render_source, render_sources, render_warnings,
                     safe_url, source_id, text_to_html)
from .serve import (DEFAULT_HOST, DEFAULT_PORT, FailureWindow, LoginThrottle, WebError, check_binding, is_local,
                    parse_auth, serve)
from .uploads import UploadJob, UploadLimits

__all__ = [
    "CONCURRENCY", "DEFAULT_HOST", "DEFAULT_PORT", "EXAMPLES", "EXTRACTIVE_LABEL", "FailureWindow", "LoginThrottle",
    "REFUSED_LABEL", "UploadJob", "UploadLimits", "WebError", "api_text", "build_app", "check_binding",
    "cited_numbers", "describe_mode", "esc", "highlight", "is_local", "link_citations",
    "make_filters", "mode_label", "parse_auth", "plain_text", "render_answer", "render_error", "render_header",
    "render_panel", "render_partial", "render_source", "render_sources", "render_warnings", "respond", "safe_url", "serve",
    "source_id", "text_to_html",
]
