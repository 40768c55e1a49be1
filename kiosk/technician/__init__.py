"""The technician's tools: commissioning and enrollment, the maintenance
screen's logic, the PIN, the hardware self-test. No Kivy here: the screens
that show these are in ``kiosk.ui``."""
