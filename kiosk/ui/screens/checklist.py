"""Checklist: the documents for this application, what each costs, and which ones only apply in some cases."""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout

from kiosk.ui.screens.base import KioskScreen
from titres.wording import fees_line, requirement_condition, requirement_detail, requirement_label


class ChecklistItem(BoxLayout):
    """One line: a bullet, the document, the line beneath it, and "Seulement si : …" when it depends on the case."""


class ChecklistScreen(KioskScreen):
    #: Lines made at start-up and reused: a checklist has at most about a dozen items.
    PREMADE = 12

    def __init__(self, kiosk_app, **kw):
        super().__init__(kiosk_app, **kw)
        self._items = [ChecklistItem() for _ in range(self.PREMADE)]

    def on_page(self, session) -> None:
        t = self.t
        box = self.ids.item_list
        box.clear_widgets()
        while len(self._items) < len(session.checklist):
            self._items.append(ChecklistItem())
        for item, req in zip(self._items, session.checklist):
            item.ids.label.text = requirement_label(t, req)
            item.ids.detail.text = requirement_detail(t, req)
            item.ids.condition.text = requirement_condition(t, req)
            item.requirement = req
            box.add_widget(item)
        self.ids.fees.text = fees_line(t, session.stamp_fees_cents)
        self.ids.scroll.scroll_y = 1
        self.on_session(session)

    def on_session(self, session) -> None:
        self.show_message(self.ids.message)
