"""Trusted-side stand-ins for what lives in the sandbox: a name the solution defines (the function
under test, a class) or an object the solution returned that is not plain data.

Every operation is a request to the run; what comes back is plain data decoded by the strict wire
decoder, or another stand-in. Comparisons never reach the sandbox: a stand-in is equal only to
itself, so an object whose ``__eq__`` always says True compares unequal to every expected value.
Truthiness is asked of the sandbox (MBPP+ 737/787/794 assert that a returned ``re.Match`` is truthy)
and comes back as a plain bool: that gives a program no more than returning True or False would,
so an always-true object passes ``assert f(x)`` exactly as ``return True`` does, and fails the
``assert not f(y)`` next to it.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any

from graders.sandbox import wire
from graders.sandbox.channel import Channel, RunBroken


class SandboxError(Exception):
    """An exception raised in the sandbox whose type is not a builtin exception."""


def _exception(name: Any, message: Any) -> BaseException:
    text = str(message)[:2000]
    cls = getattr(builtins, str(name), None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls is not StopIteration:
        try:
            return cls(text)
        except Exception:  # an exception type whose constructor wants other arguments
            pass
    return SandboxError(f"{name}: {text}")


class Session:
    """The requests a test can make of one run."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.remote_objects = 0  # replies that were not plain data (kept in the sandbox, used by reference)
        self.mutated_arguments = 0  # calls that changed a list/dict/set argument in place

    def encode(self, value: Any) -> Any:
        return wire.to_wire(value, self._other)

    @staticmethod
    def _other(value: Any, depth: int) -> Any:
        if isinstance(value, Remote) and "ref" in value._target:
            return {"ref": value._target["ref"]}
        raise wire.WireError(f"a {type(value).__name__} cannot be passed into the sandbox (only plain data)")

    def decode(self, data: Any) -> Any:
        return self.decode_counted(data)[0]

    def decode_counted(self, data: Any) -> tuple[Any, int]:
        """The value and how many values it holds (itself and everything nested in it)."""
        value = wire.from_wire(data, self._remote)
        # The tests may build sets and dicts from it here, in the harness.
        size = wire.check_hash_spread(value)
        return value, size

    def _remote(self, ref: int) -> Remote:
        self.remote_objects += 1
        return Remote(self, {"ref": ref})

    def request(self, op: str, target: dict[str, Any], **fields: Any) -> dict[str, Any]:
        reply = self.channel.exchange({"op": op, **target, **fields})
        if type(reply) is not dict:
            raise RunBroken("a reply that is not an object")
        if "raise" in reply:
            error = reply["raise"]
            if type(error) is not list or len(error) != 2:
                raise RunBroken("a malformed error reply")
            raise _exception(*error)
        if "ok" not in reply:
            raise RunBroken("a reply without a value")
        return reply

    def value(self, op: str, target: dict[str, Any], **fields: Any) -> Any:
        try:
            return self.decode(self.request(op, target, **fields)["ok"])
        except wire.WireError as exc:
            raise RunBroken(f"a reply that is not plain data: {exc}") from exc

    def call(self, target: dict[str, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        encoded = [self.encode(a) for a in args]
        reply = self.request(
            "call", target, args=encoded, kwargs={k: self.encode(v) for k, v in kwargs.items()}
        )
        try:
            result = self.decode(reply["ok"])
            mutated = reply.get("mutated", {})
            if type(mutated) is not dict:
                raise wire.WireError("mutated must be an object")
            for index, data in mutated.items():
                _update_in_place(args[int(index)], self.decode(data))
                self.mutated_arguments += 1
        except (wire.WireError, ValueError, IndexError) as exc:
            raise RunBroken(f"a reply that is not plain data: {exc}") from exc
        return result


def _update_in_place(arg: Any, new: Any) -> None:
    """The solution changed an argument it was given (e.g. sorted a list in place): so does the test's copy."""
    if type(arg) is not type(new):
        raise wire.WireError(f"argument changed type from {type(arg).__name__} to {type(new).__name__}")
    if isinstance(arg, list | bytearray):
        arg[:] = new
    elif isinstance(arg, dict | set):
        arg.clear()
        arg.update(new)


class Remote:
    __slots__ = ("_session", "_target")

    def __init__(self, session: Session, target: dict[str, Any]) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_target", target)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self._target, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy/pickle/inspection hooks are not forwarded
            raise AttributeError(name)
        return self._session.value("getattr", self._target, attr=name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._session.request("setattr", self._target, attr=name, value=self._session.encode(value))

    def __getitem__(self, key: Any) -> Any:
        return self._session.value("getitem", self._target, key=self._session.encode(key))

    def __len__(self) -> int:
        size = self._session.value("len", self._target)
        if type(size) is not int or size < 0:
            raise RunBroken("len() of a sandbox object was not a non-negative int")
        return size

    def __iter__(self) -> Iterator[Any]:
        iterator = self._session.value("iter", self._target)
        if not isinstance(iterator, Remote):
            raise RunBroken("iter() of a sandbox object was not an iterator")
        # What one iteration brings back stays in the harness (list(f()) keeps it all), so all its batches
        # together get the limits of one reply: an endless generator would otherwise fill the harness's memory.
        channel = self._session.channel
        values, first_byte = 0, channel.reply_bytes
        while True:
            reply = self._session.request("next", iterator._target)
            try:
                items, size = self._session.decode_counted(reply["ok"])
            except wire.WireError as exc:
                raise RunBroken(f"a reply that is not plain data: {exc}") from exc
            if type(items) is not list:
                raise RunBroken("a malformed batch of items")
            values += size
            if values > channel.value_cap or channel.reply_bytes - first_byte > channel.message_cap:
                raise RunBroken(
                    f"an iteration over a sandbox object gave more than one reply's worth of values "
                    f"({channel.value_cap} values, {channel.message_cap} bytes)"
                )
            yield from items
            if reply.get("done") is not False:
                return

    def __str__(self) -> str:
        text = self._session.value("str", self._target)
        return text if type(text) is str else "<sandbox object>"

    def __repr__(self) -> str:
        return f"<sandbox object {self._target}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Remote) and other._target == self._target

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(tuple(self._target.items()))

    def __bool__(self) -> bool:
        truth = self._session.value("bool", self._target)
        if type(truth) is not bool:
            raise RunBroken("bool() of a sandbox object was not a bool")
        return truth
