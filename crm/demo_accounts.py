"""The demo shop's logins, one per role. Only `seed_demo` creates them, and it refuses to when DEBUG is off."""

from dataclasses import dataclass

from .roles import AGENT, MANAGER, ROLE_LABELS, STAFF


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str | None  # None: superuser
    name: str

    @property
    def role_label(self) -> str:
        """The role's group name, with its label where the language names it otherwise: `店长 (Manager)` in
        English, only `店长` in Chinese (where the label is the name)."""
        if not self.role:
            return "superuser"
        label = str(ROLE_LABELS[self.role])
        return self.role if label == self.role else f"{self.role} ({label})"


DEMO_ACCOUNTS = [
    DemoAccount("admin", "huike-admin-2026", None, "系统管理员"),
    DemoAccount("manager", "huike-manager-2026", MANAGER, "王店长"),
    DemoAccount("staff", "huike-staff-2026", STAFF, "李运营"),
    DemoAccount("agent", "huike-agent-2026", AGENT, "张客服"),
]
