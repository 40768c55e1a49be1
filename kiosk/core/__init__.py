"""The citizen's session as pure logic: no Kivy, no hardware backend, no
numpy at import time (the image checks import it when they run).

Everything here is tested directly, without a display or a device.
"""
