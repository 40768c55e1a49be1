"""A rule of a widget that is gone must not stop a change of the property it followed (kiosk.ui.kvrules).

The screen audit once stopped on « Contraste » with Kivy's ``ReferenceError: weakly-referenced object no
longer exists``: an observer of the app's ``theme`` still held the weak proxy of a widget that was gone,
its unbinding never run. The observer here is made the same way, with the arguments a kv rule's binding
has (the widget's proxy first), and a proxy without the callback that would unbind it.
"""

from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest

from kiosk.ui.kvrules import forget_dead_rules

pytest.importorskip("kivy")
from kivy.event import EventDispatcher  # noqa: E402
from kivy.properties import ObjectProperty  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402
from kivy.weakproxy import WeakProxy  # noqa: E402


class Owner(EventDispatcher):
    theme = ObjectProperty(SimpleNamespace(alpha=1.0), rebind=True)


def _follow(args, instance, value):
    """As kivy.lang.builder.call_fn: set the rule's key on the rule's widget."""
    widget, key = args[0], args[1]
    setattr(widget, key, value.alpha)


def _follower(owner: Owner, proxy_of=WeakProxy):
    widget = Widget()
    owner.fbind("theme", _follow, (proxy_of(widget), "opacity", None, None, {}))
    return widget


def test_a_gone_widgets_rule_stops_the_change_unless_it_is_dropped_first():
    owner = Owner()
    alive = _follower(owner, proxy_of=lambda w: w.proxy_ref)
    _follower(owner)  # gone at once, its binding left behind
    gc.collect()
    with pytest.raises(ReferenceError):
        owner.theme = SimpleNamespace(alpha=0.5)
    assert forget_dead_rules(owner, "theme") == 1
    owner.theme = SimpleNamespace(alpha=0.25)
    assert alive.opacity == 0.25  # every living widget follows again
    forget_dead_rules(owner, "theme")
    owner.theme = SimpleNamespace(alpha=0.75)
    assert alive.opacity == 0.75  # and a living widget's rule is never dropped
