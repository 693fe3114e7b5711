"""The request steps shared by the workers that own one incremental engine state and follow the case's edits.

The surface-distance worker (:mod:`app.qt.distance_worker`) and the object worker
(:mod:`app.qt.objects_worker`) each keep one engine object (``SurfaceDistanceState``, ``LiveObjects``) in an
attribute of their worker state, with the ``generation`` of the case it was built for. Both build it on a load
request, apply the mask edits of an edit request to it in order, and drop it (show nothing rather than wrong
figures) when it can no longer follow the case. Those steps are here, once; each worker names its attribute,
its failure reply type and its words. Definitions: docs/architecture.md §5a.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def dropping_state_on_error(state, attribute: str, run: Callable[[Any, Any], Any], request):
    """Return ``run(state, request)``; on any exception set ``state.<attribute>`` to None and re-raise.

    An unexpected exception may leave the engine state half-updated (its masks no longer follow the case).
    """
    try:
        return run(state, request)
    except BaseException:
        setattr(state, attribute, None)
        raise


def build_state(state, attribute: str, request, build: Callable[[], Any], failure: type, cannot: str):
    """Set ``state.<attribute>`` to ``build()``; return None, or a ``failure`` reply if it could not be built.

    Parameters
    ----------
    state
        The worker state; ``state.<attribute>`` is None when this is called.
    attribute : str
        The name of the state's engine attribute.
    request
        The load request (``generation``, ``revision``).
    build : callable
        Builds the engine state from the request's masks; raises ValueError or MemoryError when it cannot.
    failure : type
        The worker's failure reply, called as ``failure(generation, revision, message)``.
    cannot : str
        The start of the user's message, e.g. ``"Objects could not be counted"``.
    """
    try:
        setattr(state, attribute, build())
    except (ValueError, MemoryError) as error:
        return failure(request.generation, request.revision, f"{cannot} for this case: {error}")
    return None


def apply_edits(state, attribute: str, request, failure: type, what: str,
                apply: Callable[[Any, Any], Any] | None = None):
    """Apply ``request.deltas`` in order to ``state.<attribute>``; return None, or a ``failure`` reply.

    ``apply(live, delta)`` applies one delta (default: ``live.apply_edit(region, new_values, which=)``).

    An edit of another case, or of a case whose state was dropped, gets a failure with an empty message (the
    user was already told). An edit the state cannot follow (ValueError, MemoryError) drops the state, and
    the failure says so in words starting with ``what`` (e.g. ``"Surface distances"``).
    """
    live = getattr(state, attribute)
    if request.generation != state.generation or live is None:
        return failure(request.generation, request.revision, "")
    try:
        for delta in request.deltas:
            if apply is None:
                live.apply_edit(delta.region, delta.new_values, which=delta.which)
            else:
                apply(live, delta)
    except (ValueError, MemoryError) as error:
        setattr(state, attribute, None)   # its masks no longer follow the case: show nothing rather than wrong figures
        return failure(request.generation, request.revision,
                       f"{what} stopped following the edits ({error}); they are not shown until the case is "
                       "opened again.")
    return None
