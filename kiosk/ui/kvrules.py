"""Kv rules of widgets that are gone, dropped before a property they follow changes.

A kv rule such as ``color: app.theme.text`` binds the widget, through its
weak proxy, to the app's ``theme``; Kivy unbinds it from that proxy's
weak-reference callback when the widget dies. Once in the full suite's
screen audit, a change of ``theme`` (« Contraste » touched) met an observer
whose proxy was dead and not unbound, and stopped there with
``ReferenceError: weakly-referenced object no longer exists``, leaving the
widgets after it unchanged. What left it bound is not known (it was not
reproduced alone); whatever it is, a dead widget's rule has nothing to set,
so it is dropped before the change rather than allowed to stop it.
"""

from __future__ import annotations


def _dead(proxy) -> bool:
    try:
        getattr(proxy, "uid", None)
    except ReferenceError:
        return True
    return False


def forget_dead_rules(dispatcher, *names: str) -> int:
    """Unbind from ``dispatcher``'s properties ``names`` every kv rule whose widget is gone; returns how many
    were found (Kivy may keep listing an unbound observer until its list is next cleaned)."""
    dropped = 0
    for name in names:
        for _callback, largs, _kwargs, _is_ref, uid in dispatcher.get_property_observers(name, args=True):
            # The rule's own arguments come last: (widget, key, value, rule, idmap), whether the binding sets
            # the value (call_fn) or follows a chain of attributes (update_intermediates).
            rule_args = largs[-1] if largs and isinstance(largs[-1], (tuple, list)) else ()
            if rule_args and _dead(rule_args[0]):
                dispatcher.unbind_uid(name, uid)
                dropped += 1
    return dropped
