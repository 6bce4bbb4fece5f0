"""The dev stack's SMTP server: accepts every message and keeps it as an .eml file under the data dir."""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class CaptureHandler:
    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        mail_dir.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        message = message_from_bytes(content)
        message_id = re.sub(r"[^A-Za-z0-9._-]", "", str(message.get("Message-ID", "")))[:60] or "message"
        name = f"{time.time_ns()}-{message_id}.eml"
        (self.mail_dir / name).write_bytes(content)
        return "250 Message accepted for delivery"


def start_capture(mail_dir: Path, port: int, host: str = "127.0.0.1") -> Controller:
    controller = Controller(CaptureHandler(mail_dir), hostname=host, port=port)
    controller.start()
    return controller
