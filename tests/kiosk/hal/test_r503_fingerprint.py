"""The R503 backend against the emulated sensor: the real adafruit_fingerprint library on a real serial port.

The emulator (:mod:`kiosk.hal.sim.r503_emulator`) answers the sensor's
packet protocol on a pseudo-terminal; nothing between ``R503Sensor`` and
the bytes on the line is replaced.
"""

from __future__ import annotations

import io
import sys
from dataclasses import replace

import numpy as np
import pytest
import serial
from PIL import Image

from titres.errors import SensorUnavailable
from kiosk.hal.r503_fingerprint import R503Sensor
from kiosk.hal.r503_protocol import GENIMG, SETSYSPARA, UPIMAGE, VFYPWD, pack_nibbles, packet, unpack_nibbles
from kiosk.hal.sim.r503_emulator import SensorEmulator, image_bytes

adafruit_fingerprint = pytest.importorskip("adafruit_fingerprint")


@pytest.fixture
def emulator():
    with SensorEmulator(rng=np.random.default_rng(3)) as emu:
        yield emu


def sensor_on(emulator, hal_config, **changes) -> R503Sensor:
    return R503Sensor(replace(hal_config, serial_port=emulator.port, **changes))


# --- the wire -------------------------------------------------------------------------
def test_a_packet_carries_start_code_address_type_length_and_checksum():
    assert packet(0x01, bytes([0x01])) == bytes.fromhex("ef01ffffffff" "01" "0003" "01" "0005")


def test_image_pixels_travel_as_two_4_bit_pixels_per_byte_and_come_back_unchanged():
    image = (np.random.default_rng(0).integers(0, 16, (192, 192)) * 17).astype(np.uint8)
    data = pack_nibbles(image)
    assert len(data) == image_bytes("r503") == 18432
    assert np.array_equal(unpack_nibbles(data, 192, 192), image)


# --- connecting -------------------------------------------------------------------------
def test_open_hands_shake_with_the_password_and_moves_the_line_to_the_fast_rate(emulator, hal_config):
    with sensor_on(emulator, hal_config) as s:
        assert s.baud == 115200 == emulator.baud
        assert s.parameters["packet_bytes"] == 128
        assert s.read().ok
    assert emulator.commands[:2] == [VFYPWD, 0x0F] and SETSYSPARA in emulator.commands


def test_a_sensor_left_at_the_fast_rate_by_an_earlier_run_is_found_there(hal_config):
    with SensorEmulator(baud=115200) as emu, sensor_on(emu, hal_config, serial_baud=57600) as s:
        assert s.baud == 115200
        assert emu.dropped_bytes > 0  # the first handshake, at 57600, reached the sensor as noise
        assert s.read().ok


def test_the_configured_rate_is_kept_when_no_fast_rate_is_set(emulator, hal_config):
    with sensor_on(emulator, hal_config, fingerprint_fast_baud=0) as s:
        assert s.baud == 57600 == emulator.baud


def test_a_wrong_password_is_named(hal_config):
    with SensorEmulator(password=0x1234) as emu:
        with pytest.raises(SensorUnavailable, match="password"):
            sensor_on(emu, hal_config).open()
        with sensor_on(emu, hal_config, fingerprint_password=0x1234) as s:
            assert s.read().ok


def test_a_silent_line_is_no_sensor(emulator, hal_config):
    emulator.unplug()
    with pytest.raises(SensorUnavailable, match="no fingerprint sensor answers"):
        sensor_on(emulator, hal_config, fingerprint_fast_baud=0, serial_baud=57600).open()


def test_a_missing_port_says_to_check_the_uart(hal_config):
    with pytest.raises(SensorUnavailable, match="UART"):
        R503Sensor(replace(hal_config, serial_port="/dev/does-not-exist")).open()


def test_a_sensor_unplugged_between_readings_is_found_again_once_plugged(emulator, hal_config):
    with sensor_on(emulator, hal_config) as s:
        emulator.unplug()
        with pytest.raises(SensorUnavailable, match="stopped answering"):
            s.read()
        emulator.plug()
        assert s.read().ok


# --- the library's defects, worked around ------------------------------------------------
def test_the_library_alone_overflows_the_stack_on_an_image_in_32_byte_packets(hal_config):
    with SensorEmulator(model="r307", packet_size_code=0) as emu:
        uart = serial.Serial(emu.port, 57600, timeout=1)
        finger = adafruit_fingerprint.Adafruit_Fingerprint(uart)
        assert finger.get_image() == 0
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(1000)
        try:
            with pytest.raises(RecursionError):
                finger.get_fpdata("image")  # one recursion per packet: 1,152 packets
        finally:
            sys.setrecursionlimit(limit)
            uart.close()


def test_the_backend_uploads_the_same_image_in_32_byte_packets(hal_config):
    with SensorEmulator(model="r307", packet_size_code=0) as emu, sensor_on(emu, hal_config) as s:
        reading = s.read()
        assert reading.ok
        pixels = np.asarray(Image.open(io.BytesIO(reading.image)))
        assert pixels.shape == (288, 256)
        assert np.array_equal(pixels, emu.uploaded_images[-1])


def test_a_damaged_data_packet_is_caught_by_its_checksum_and_the_upload_retried(emulator, hal_config):
    with sensor_on(emulator, hal_config) as s:
        emulator.corrupt_data_packets = 1
        reading = s.read()
        assert reading.ok
        assert emulator.commands.count(UPIMAGE) == 2
        pixels = np.asarray(Image.open(io.BytesIO(reading.image)))
        assert np.array_equal(pixels, emulator.uploaded_images[-1])


def test_the_library_alone_accepts_a_damaged_acknowledgement(emulator):
    uart = serial.Serial(emulator.port, 57600, timeout=1)
    try:
        finger = adafruit_fingerprint.Adafruit_Fingerprint(uart)
        emulator.script("corrupt")
        assert finger.get_image() == 0  # the wrong checksum goes unnoticed
    finally:
        uart.close()


def test_replies_that_stay_corrupt_make_the_sensor_unavailable(emulator, hal_config):
    with sensor_on(emulator, hal_config) as s:
        emulator.script("corrupt", "corrupt")
        with pytest.raises(SensorUnavailable, match="corrupt"):
            s.read()
        assert s.read().ok  # reconnected
    assert emulator.commands.count(GENIMG) >= 3


# --- guidance ---------------------------------------------------------------------------
def test_a_sensor_without_a_ring_is_guided_on_screen_only(hal_config):
    with SensorEmulator(model="r307") as emu, sensor_on(emu, hal_config) as s:
        s.guide("place")
        assert not s.has_led_ring
        s.guide("ok")  # nothing sent, nothing raised
        assert s.read().ok
    assert emu.commands.count(0x35) == 1


def test_a_reading_that_times_out_turns_the_ring_off(emulator, hal_config):
    from titres.errors import SensorTimeout

    with sensor_on(emulator, hal_config) as s:
        s.guide("place")
        emulator.script("timeout")
        with pytest.raises(SensorTimeout):
            s.read(timeout_s=0.2)
    assert emulator.led_history[:2] == [(1, 0x60, 2, 0), (4, 0, 0, 0)]


def test_the_byte_a_sensor_sends_at_power_up_does_not_fail_the_next_reply(emulator, hal_config):
    with sensor_on(emulator, hal_config) as s:
        emulator.power_cycle()
        assert s.read().ok
    assert emulator.commands.count(GENIMG) == 1  # skipped, not retried
