"""The emulator's in-memory world: class trees, materials, projects, teams, tasks.

Pure data and rules, no HTTP.  Every rule that a handler shares with another
(ownership, the class tree, paths, task progress) lives here so that the
handlers stay a thin translation of the documented request/response fields.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable

from .._faults import Fault, denied, material_not_found
from .model import (
    JSON,
    AIResult,
    ClassNode,
    Material,
    OwnerKey,
    Project,
    Share,
    Task,
    Team,
    Upload,
    owner_json,
)

ROOT_NAMES = {"PERSON": "个人", "TEAM": "团队"}
PRESET_TAGS: dict[str, tuple[str, str]] = {  # id -> (name, parent id)
    "1001": ("人物", "-1"),
    "1002": ("风景", "-1"),
    "1003": ("美食", "-1"),
    "1004": ("运动", "-1"),
    "1005": ("城市", "1002"),
    "1006": ("自然", "1002"),
}
AI_KINDS = ("frame", "face", "subtitle", "text", "object")


class State:
    """Everything the emulator remembers.  Single-threaded: used from one event loop."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        app_id: int = 1200000001,
        task_duration: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.app_id = app_id
        self.task_duration = task_duration
        self.rng = rng or random.Random()
        self.classes: dict[int, ClassNode] = {}
        self.roots: dict[OwnerKey, int] = {}
        self.materials: dict[str, Material] = {}
        self.projects: dict[str, Project] = {}
        self.teams: dict[str, Team] = {}
        self.tasks: dict[str, Task] = {}
        self.uploads: dict[str, Upload] = {}
        self.shares: list[Share] = []
        self._pending_tasks: set[str] = set()
        self._next_class_id = 1000
        # Class paths and ClassInfo dicts, valid until the tree changes (see _tree_changed).
        self._paths: dict[int, str] = {}
        self._class_json: dict[int, JSON] = {}

    # ---- ids -------------------------------------------------------------
    def new_material_id(self) -> str:
        while True:
            mid = str(self.rng.randrange(10**19, 10**20))
            if mid not in self.materials:
                return mid

    def hex_id(self, n: int = 24) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def new_class_id(self) -> int:
        self._next_class_id += 1
        return self._next_class_id

    # ---- ownership ----------------------------------------------------------
    def can_access(self, user_id: str, owner: OwnerKey) -> bool:
        if owner[0] == "PERSON":
            return owner[1] == user_id
        team = self.teams.get(owner[1])
        return team is not None and user_id in team.members

    def check_owner(self, user_id: str, owner: OwnerKey) -> None:
        if owner[0] == "TEAM" and owner[1] not in self.teams:
            raise Fault("InvalidParameterValue.TeamNotExist")
        if not self.can_access(user_id, owner):
            raise denied()

    # ---- class tree ---------------------------------------------------------
    def root(self, owner: OwnerKey) -> ClassNode:
        """The owner's root class, created on first use (every space has one)."""
        cid = self.roots.get(owner)
        if cid is None:
            name = ROOT_NAMES.get(owner[0], "个人")
            if owner[0] == "TEAM" and owner[1] in self.teams:
                name = self.teams[owner[1]].name
            cid = self.new_class_id()
            self.classes[cid] = ClassNode(cid, owner, name, -1)
            self.roots[owner] = cid
        return self.classes[cid]

    def get_class(self, class_id: int) -> ClassNode:
        node = self.classes.get(class_id)
        if node is None:
            raise Fault("InvalidParameterValue.ClassNotExist", f"class not exist: {class_id}")
        return node

    def user_class(self, user_id: str, class_id: int, owner: OwnerKey | None = None) -> ClassNode:
        """A class the user may use; ``-1`` or an owner's root id both name the root."""
        if class_id == -1 and owner is not None:
            self.check_owner(user_id, owner)
            return self.root(owner)
        node = self.get_class(class_id)
        if owner is not None and node.owner != owner:
            raise denied()
        if not self.can_access(user_id, node.owner):
            raise denied()
        return node

    def _tree_changed(self) -> None:
        self._paths.clear()
        self._class_json.clear()

    def class_path(self, node: ClassNode) -> str:
        cached = self._paths.get(node.class_id)
        if cached is not None:
            return cached
        names: list[str] = []
        cur: ClassNode | None = node
        while cur is not None:
            names.append(cur.name)
            cur = self.classes.get(cur.parent_id)
        path = self._paths[node.class_id] = "/" + "/".join(reversed(names))
        return path

    def ancestors(self, node: ClassNode) -> list[ClassNode]:
        """Root first, ``node`` last."""
        chain: list[ClassNode] = []
        cur: ClassNode | None = node
        while cur is not None:
            chain.append(cur)
            cur = self.classes.get(cur.parent_id)
        chain.reverse()
        return chain

    def descendants(self, node: ClassNode, *, one_level: bool = False) -> list[ClassNode]:
        """Depth-first, excluding ``node`` itself."""
        out: list[ClassNode] = []
        stack = list(reversed(node.children))
        while stack:
            child = self.classes[stack.pop()]
            out.append(child)
            if not one_level:
                stack.extend(reversed(child.children))
        return out

    def child_named(self, parent: ClassNode, name: str) -> ClassNode | None:
        for cid in parent.children:
            if self.classes[cid].name == name:
                return self.classes[cid]
        return None

    def create_class(self, parent: ClassNode, name: str) -> ClassNode:
        if not name or "/" in name:
            raise Fault("InvalidParameterValue.Name", f"invalid class name: {name!r}")
        if self.child_named(parent, name) is not None:
            raise Fault("InvalidParameterValue.ClassExist")
        cid = self.new_class_id()
        node = ClassNode(cid, parent.owner, name, parent.class_id)
        self.classes[cid] = node
        parent.children.append(cid)
        self._tree_changed()
        return node

    def ensure_path(self, owner: OwnerKey, path: str) -> ClassNode:
        """The class at ``/root/a/b`` (the root's own name may be omitted), created as needed."""
        node = self.root(owner)
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == node.name:
            parts = parts[1:]
        for part in parts:
            node = self.child_named(node, part) or self.create_class(node, part)
        return node

    def delete_class(self, node: ClassNode) -> None:
        if node.parent_id == -1:
            raise Fault("OperationDenied.PermissionDeny", "root class cannot be deleted")
        if node.children or node.materials:
            raise Fault("InvalidParameterValue.ClassNotEmpty")
        self.classes[node.parent_id].children.remove(node.class_id)
        del self.classes[node.class_id]
        self._tree_changed()

    def modify_class(self, node: ClassNode, name: str | None, parent: ClassNode | None) -> None:
        """Rename and/or move ``node``; every check passes before anything changes."""
        new_name = node.name if name is None else name
        target = self.classes[node.parent_id] if parent is None else parent
        if node.parent_id == -1 and (target is not node or new_name != node.name):
            raise Fault("OperationDenied.PermissionDeny", "the root class cannot be changed")
        if node.parent_id == -1:
            return
        if not new_name or "/" in new_name:
            raise Fault("InvalidParameterValue.Name", f"invalid class name: {new_name!r}")
        if target.owner != node.owner:
            raise denied()
        if target is node or node in self.ancestors(target):
            raise Fault("InvalidParameterValue", "cannot move a class into itself or its subclass")
        clash = self.child_named(target, new_name)
        if clash is not None and clash is not node:
            raise Fault("InvalidParameterValue.ClassExist")
        if target.class_id != node.parent_id:
            self.classes[node.parent_id].children.remove(node.class_id)
            target.children.append(node.class_id)
            node.parent_id = target.class_id
        node.name = new_name
        self._tree_changed()

    def class_json(self, node: ClassNode, platform: str) -> JSON:
        """ClassInfo (shared between answers until the tree changes: do not mutate)."""
        cached = self._class_json.get(node.class_id)
        if cached is None or cached["Platform"] != platform:
            cached = self._class_json[node.class_id] = {
                "Platform": platform,
                "Owner": owner_json(node.owner),
                "Name": node.name,
                "ClassPath": self.class_path(node),
                "ClassId": node.class_id,
                "ParentClassId": node.parent_id,
            }
        return cached

    # ---- materials ------------------------------------------------------------
    def add_material(self, material: Material) -> Material:
        self.materials[material.material_id] = material
        self.classes[material.class_id].materials[material.material_id] = None
        return material

    def user_material(self, user_id: str, material_id: str) -> Material:
        material = self.materials.get(material_id)
        if material is None:
            raise material_not_found()
        if not self.can_access(user_id, material.owner):
            raise denied()
        return material

    def move_material(self, material: Material, node: ClassNode) -> None:
        if node.owner != material.owner:
            raise denied()
        del self.classes[material.class_id].materials[material.material_id]
        node.materials[material.material_id] = None
        material.class_id = node.class_id

    def delete_material(self, material: Material) -> None:
        del self.materials[material.material_id]
        del self.classes[material.class_id].materials[material.material_id]
        for project in self.projects.values():
            if material.material_id in project.material_ids:
                project.material_ids.remove(material.material_id)

    # ---- projects, teams ------------------------------------------------------
    def user_project(self, user_id: str, project_id: str) -> Project:
        project = self.projects.get(project_id)
        if project is None or not self.can_access(user_id, project.owner):
            raise Fault("InvalidParameterValue.ProjectId")
        return project

    def user_teams(self, user_id: str) -> list[Team]:
        return [t for t in self.teams.values() if user_id in t.members]

    # ---- tasks and AI results ---------------------------------------------------
    def start_task(self, user_id: str, material: Material, definition: int) -> Task:
        task_id = f"{self.app_id}-procedurev2-{self.hex_id(32)}t0"
        task = Task(
            task_id,
            user_id,
            "MATERIAL_PROCESS",
            self.clock(),
            self.task_duration,
            material_id=material.material_id,
            definition=definition,
        )
        self.tasks[task_id] = task
        self._pending_tasks.add(task_id)
        self.advance_tasks()
        return task

    def advance_tasks(self) -> None:
        """Bring every PROCESSING task up to the clock; finished ones write their AI results."""
        if not self._pending_tasks:
            return
        now = self.clock()
        for task_id in list(self._pending_tasks):
            task = self.tasks.get(task_id)
            if task is None:
                self._pending_tasks.discard(task_id)
                continue
            elapsed = now - task.create_time
            if task.duration > 0 and elapsed < task.duration:
                task.progress = min(99, int(100 * elapsed / task.duration))
                continue
            self._pending_tasks.discard(task_id)
            material = self.materials.get(task.material_id or "")
            if material is None:
                task.status, task.progress = "FAIL", 100
                continue
            from .ai import write_ai_result

            kinds = ("subtitle",) if task.definition == 30 else AI_KINDS
            for kind in kinds:
                write_ai_result(self, material, kind)
            task.status, task.progress = "SUCCESS", 100

    def ai_result(self, material: Material, kind: str) -> AIResult | None:
        self.advance_tasks()
        return material.ai.get(kind)


def _start(item: JSON) -> float:
    return float(item["StartTimeOffset"])


def window(items: Iterable[JSON], start: float, end: float, size: int) -> tuple[list[JSON], float]:
    """Time-window paging: items starting in [start, end), at most ``size`` of them
    (never splitting items that share a start); ``LastTimeOffset`` is where the next
    query should start, or -1 when the window holds no more items."""
    inside = sorted((i for i in items if start <= _start(i) < end), key=_start)
    if len(inside) <= size:
        return inside, -1
    cut = size
    while cut < len(inside) and _start(inside[cut]) == _start(inside[cut - 1]):
        cut += 1
    if cut >= len(inside):
        return inside, -1
    return inside[:cut], _start(inside[cut])
