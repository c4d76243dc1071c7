#!/usr/bin/python3
"""A small Azure Event Hubs emulator (AMQP 1.0) for iocwatch's tests.

It speaks just enough of the Event Hubs AMQP protocol for the unmodified
azeventhubs/v2 Go client (ProducerClient, ConsumerClient, PartitionClient and
Processor): hubs with N partitions held in memory, the $cbs claims endpoint,
the $management READ operations, producer links to a hub or a partition,
consumer links with the start-position filters and the x-opt-* annotations,
epoch (owner level) takeover with amqp:link:stolen, and refusal of unknown hubs
and partitions. Nothing is persisted; authentication is not checked (SASL
ANONYMOUS, every put-token is accepted).

Consumer groups are not declared by default: any name is accepted. A hub given
as name:partitions:group,group... has only those consumer groups and $Default;
a receiver of any other group is refused with amqp:not-found, as the service
refuses it.

A key whose name (the SharedAccessKeyName of the connection string, the skn of
its put-token) ends in "-send-only" stands for a policy without the Listen
claim: the receivers of its connection are refused with
amqp:unauthorized-access, as the service refuses them. It may still send and
read hub and partition properties.

Run it with Debian's interpreter, which sees the python3-qpid-proton package:

    /usr/bin/python3 testenv/eventhubs_emulator.py --port 0 --hub defender:4 --hub other:2:iocwatch

The first line on stdout is "LISTENING <host>:<port>". Connect with

    Endpoint=sb://127.0.0.1:<port>;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true

It stops on SIGTERM or SIGINT, and with --exit-on-eof when its standard input
closes (so it never outlives the test process that started it).
"""

import argparse
import bisect
import itertools
import os
import re
import signal
import sys
import threading
import time
import urllib.parse

from proton import (Array, Condition, Data, Delivery, Message, Terminus, UNDESCRIBED, int32,
                    symbol, timestamp)
from proton import Handler
from proton.reactor import Container

# The C calls behind Sender.delivery/stream/advance, without building a
# Python wrapper per delivery (the emulator's hottest loop).
from cproton import pn_delivery, pn_delivery_settle, pn_link_advance, pn_link_send

MAX_MESSAGE_SIZE = 1024 * 1024  # the Standard tier's limit; announced on every producer attach
PRODUCER_CREDIT = 100
# A batch is sent with message format 0x80013700, which proton does not
# expose: batches are recognised by their content instead (every data section
# holds an encoded message), see _publish.

SELECTOR_FILTER = symbol("apache.org:selector-filter:string")
EPOCH = symbol("com.microsoft:epoch")
RECEIVER_NAME = symbol("com.microsoft:receiver-name")

# A key name with this suffix has the Send claim but not Listen.
SEND_ONLY_SUFFIX = "-send-only"

# Section descriptors (AMQP 1.0 messaging, 3.2).
SEC_HEADER, SEC_DELIVERY_ANN, SEC_MESSAGE_ANN = 0x70, 0x71, 0x72
SEC_DATA = 0x75

SELECTOR_RE = re.compile(
    r"^\s*amqp\.annotation\.x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'([^']*)'\s*$")

log_enabled = False


def log(*args):
    if log_enabled:
        print("emulator:", *args, file=sys.stderr, flush=True)


# --- minimal AMQP encoding walker -------------------------------------------
# proton decodes whole messages; a batch (message format 0x80013700) holds one
# encoded message per data section, and delivered events must keep the
# producer's sections byte for byte. So sections are split here by walking the
# type encodings (AMQP 1.0 types, 1.2).

def _skip_value(buf, i):
    """Returns the index just after the encoded value starting at buf[i]."""
    code = buf[i]
    i += 1
    if code == 0x00:  # described: descriptor, then value
        i = _skip_value(buf, i)
        return _skip_value(buf, i)
    width = code & 0xF0
    if width == 0x40:
        return i
    if width == 0x50:
        return i + 1
    if width == 0x60:
        return i + 2
    if width == 0x70:
        return i + 4
    if width == 0x80:
        return i + 8
    if width == 0x90:
        return i + 16
    if width in (0xA0, 0xC0, 0xE0):
        return i + 1 + buf[i]
    if width in (0xB0, 0xD0, 0xF0):
        return i + 4 + int.from_bytes(buf[i:i + 4], "big")
    raise ValueError("unknown AMQP type code 0x%02x" % code)


def split_sections(buf):
    """Splits an encoded message into [(descriptor code, raw bytes)]."""
    out = []
    i = 0
    n = len(buf)
    while i < n:
        if buf[i] != 0x00:
            raise ValueError("section %d does not start with a descriptor" % len(out))
        start = i
        if buf[i + 1] == 0x53:  # smallulong descriptor
            code = buf[i + 2]
        elif buf[i + 1] == 0x80:  # ulong descriptor
            code = int.from_bytes(buf[i + 2:i + 10], "big")
        else:
            raise ValueError("section %d has a symbolic descriptor" % len(out))
        i = _skip_value(buf, i)
        if i > n:
            raise ValueError("section %d is truncated" % len(out))
        out.append((code, bytes(buf[start:i])))
    return out


def looks_like_message(buf):
    return len(buf) >= 3 and buf[0] == 0x00 and buf[1] == 0x53 and 0x70 <= buf[2] <= 0x78


def section_value(raw):
    """Decodes the value of one raw section with proton (slow; rare paths)."""
    d = Data()
    d.decode(raw)
    d.rewind()
    d.next()
    obj = d.get_object()
    return getattr(obj, "value", obj)


def _descriptor_end(raw):
    """Index of the value after a section's descriptor."""
    return 3 if raw[1] == 0x53 else 10


def data_value(raw):
    """The bytes of a data section (binary vbin8 or vbin32)."""
    i = _descriptor_end(raw)
    code = raw[i]
    if code == 0xA0:
        return raw[i + 2:i + 2 + raw[i + 1]]
    if code == 0xB0:
        n = int.from_bytes(raw[i + 1:i + 5], "big")
        return raw[i + 5:i + 5 + n]
    raise ValueError("data section holds type 0x%02x, not binary" % code)


def map_entries(raw):
    """[(key name or None, raw key+value bytes)] of a message-annotations section."""
    i = _descriptor_end(raw)
    code = raw[i]
    if code == 0x40:  # null
        return []
    if code == 0xC1:
        count, i = raw[i + 2], i + 3
    elif code == 0xD1:
        count, i = int.from_bytes(raw[i + 5:i + 9], "big"), i + 9
    else:
        raise ValueError("annotations hold type 0x%02x, not a map" % code)
    out = []
    for _ in range(count // 2):
        k = _skip_value(raw, i)
        v = _skip_value(raw, k)
        name = None
        if raw[i] == 0xA3:
            name = raw[i + 2:k].decode("utf-8", "replace")
        elif raw[i] == 0xB3:
            name = raw[i + 5:k].decode("utf-8", "replace")
        out.append((name, raw[i:v]))
        i = v
    return out


def enc_symbol(name):
    b = name.encode()
    return bytes((0xA3, len(b))) + b


def enc_string(text):
    b = text.encode()
    if len(b) < 256:
        return bytes((0xA1, len(b))) + b
    return b"\xb1" + len(b).to_bytes(4, "big") + b


def enc_long(n):
    return b"\x81" + n.to_bytes(8, "big", signed=True)


def enc_timestamp(ms):
    return b"\x83" + ms.to_bytes(8, "big", signed=True)


def enc_annotations(entries):
    """A message-annotations section (map32) from raw key+value byte strings."""
    body = b"".join(entries)
    count = 2 * len(entries)
    return b"\x00\x53\x72\xd1" + (len(body) + 4).to_bytes(4, "big") + count.to_bytes(4, "big") + body


KEY_SEQ = enc_symbol("x-opt-sequence-number")
KEY_OFFSET = enc_symbol("x-opt-offset")
KEY_ENQUEUED = enc_symbol("x-opt-enqueued-time")
KEY_PKEY = enc_symbol("x-opt-partition-key")
SERVICE_KEYS = {"x-opt-sequence-number", "x-opt-offset", "x-opt-enqueued-time", "x-opt-partition-key"}


# --- the in-memory hubs ---------------------------------------------------

class Event:
    __slots__ = ("seq", "offset", "enqueued_ms", "wire")

    def __init__(self, seq, offset, enqueued_ms, wire):
        self.seq = seq
        self.offset = offset
        self.enqueued_ms = enqueued_ms
        self.wire = wire


class Partition:
    def __init__(self, hub, pid):
        self.hub = hub
        self.id = str(pid)
        self.events = []
        self.offsets = []
        self.times = []
        self.next_offset = 0
        self.consumers = []  # ConsumerState, every consumer group

    def append(self, sections, partition_key, now_ms):
        """Stores one event given the sections of its message; returns it."""
        seq = len(self.events)
        offset = self.next_offset
        header = b""
        kept = []  # the producer's own annotations, raw
        rest = []
        size = 0
        for code, raw in sections:
            if code == SEC_HEADER:
                header = raw
            elif code == SEC_MESSAGE_ANN:
                for name, entry in map_entries(raw):
                    if name == "x-opt-partition-key" and partition_key is None:
                        kept.append(entry)  # a key set on the event itself
                    elif name not in SERVICE_KEYS:
                        kept.append(entry)
            elif code == SEC_DELIVERY_ANN:
                continue
            else:
                rest.append(raw)
                size += len(raw)
        entries = [KEY_SEQ + enc_long(seq), KEY_OFFSET + enc_string(str(offset)),
                   KEY_ENQUEUED + enc_timestamp(now_ms)]
        if partition_key is not None:
            entries.append(KEY_PKEY + enc_string(partition_key))
        wire = header + enc_annotations(entries + kept) + b"".join(rest)
        ev = Event(seq, offset, now_ms, wire)
        self.events.append(ev)
        self.offsets.append(offset)
        self.times.append(now_ms)
        self.next_offset += max(size, 1)
        return ev

    def start_index(self, selector):
        """Maps a selector-filter expression to the index of the first event to send."""
        if selector is None:
            return 0
        m = SELECTOR_RE.match(selector)
        if not m:
            raise ValueError("unsupported selector %r" % selector)
        field, op, value = m.groups()
        inclusive = op == ">="
        if field == "offset":
            if value == "@latest":
                return len(self.events)
            n = int(value)
            if n < 0:
                return 0
            if inclusive:
                return bisect.bisect_left(self.offsets, n)
            return bisect.bisect_right(self.offsets, n)
        if field == "sequence-number":
            n = int(value)
            idx = n if inclusive else n + 1
            return min(max(idx, 0), len(self.events))
        n = int(value)  # enqueued-time, unix ms
        if inclusive:
            return bisect.bisect_left(self.times, n)
        return bisect.bisect_right(self.times, n)


class Hub:
    def __init__(self, name, partitions, groups=None):
        self.name = name
        self.created_ms = int(time.time() * 1000)
        self.partitions = [Partition(self, i) for i in range(partitions)]
        self.rr = itertools.cycle(range(partitions))
        # None: any consumer group; otherwise the declared ones (lower case,
        # as the service compares them), $Default always among them.
        self.groups = None
        if groups is not None:
            self.groups = {"$default"} | {g.lower() for g in groups}

    def has_group(self, group):
        return self.groups is None or group.lower() in self.groups

    def partition(self, pid):
        try:
            i = int(pid)
        except ValueError:
            return None
        if 0 <= i < len(self.partitions) and str(i) == pid:
            return self.partitions[i]
        return None

    def route(self, partition_key):
        if partition_key is None:
            return self.partitions[next(self.rr)]
        h = 0
        for b in partition_key.encode():
            h = (h * 31 + b) & 0xFFFFFFFF
        return self.partitions[h % len(self.partitions)]


# --- link states ------------------------------------------------------------

class ConsumerState:
    def __init__(self, link, partition, group, epoch, index, name):
        self.link = link
        self.partition = partition
        self.group = group
        self.epoch = epoch
        self.next = index
        self.name = name
        self.tags = itertools.count()
        self.closed = False


class RpcState:
    def __init__(self, kind):
        self.kind = kind  # "cbs" or "management"


class ReplyState:
    def __init__(self, link):
        self.link = link
        self.queue = []
        self.tags = itertools.count()


class ProducerState:
    def __init__(self, hub, partition):
        self.hub = hub
        self.partition = partition


def mirror(link):
    """Answers an attach: copy both termini and the requested settle modes."""
    link.source.copy(link.remote_source)
    link.target.copy(link.remote_target)
    link.snd_settle_mode = link.remote_snd_settle_mode
    link.rcv_settle_mode = link.remote_rcv_settle_mode


def refuse(link, condition, description):
    """Refuses a link: attach with null source and target, then detach with the error."""
    link.source.type = Terminus.UNSPECIFIED
    link.target.type = Terminus.UNSPECIFIED
    link.open()
    link.condition = Condition(condition, description)
    link.close()
    log("refused link", link.name, condition, description)


class Emulator(Handler):
    def __init__(self, host, port, hubs):
        super().__init__()
        self.host = host
        self.port = port
        self.hubs = {h.name: h for h in hubs}
        self.acceptor = None
        self.container = None

    # -- lifecycle --
    def on_reactor_init(self, event):
        self.container = event.container
        self.acceptor = event.container.listen("%s:%d" % (self.host, self.port))
        host, port = self.acceptor._selectable.getsockname()[:2]
        print("LISTENING %s:%d" % (host, port), flush=True)

    def stop(self):
        if self.acceptor is not None:
            self.acceptor.close()
        self.container.stop()

    def on_connection_bound(self, event):
        sasl = event.transport.sasl()
        sasl.allow_insecure_mechs = True
        sasl.allowed_mechs("ANONYMOUS")

    def on_connection_remote_open(self, event):
        conn = event.connection
        conn._eh_links = []
        conn.container = "iocwatch-eventhubs-emulator"
        conn.open()

    def on_session_remote_open(self, event):
        event.session.incoming_capacity = 8 * MAX_MESSAGE_SIZE
        event.session.open()

    def on_link_remote_open(self, event):
        link = event.link
        try:
            if link.is_receiver:
                self._open_inbound(link)
            else:
                self._open_outbound(link)
        except Exception as e:  # never let a bad attach kill the emulator
            refuse(link, "amqp:internal-error", "emulator: %s" % e)

    def on_link_remote_close(self, event):
        link = event.link
        self._forget(link)
        if link.state & link.LOCAL_ACTIVE:
            link.close()

    def on_session_remote_close(self, event):
        if event.session.state & event.session.LOCAL_ACTIVE:
            event.session.close()

    def on_connection_remote_close(self, event):
        self._forget_connection(event.connection)
        if event.connection.state & event.connection.LOCAL_ACTIVE:
            event.connection.close()

    def on_transport_closed(self, event):
        if event.connection is not None:
            self._forget_connection(event.connection)

    def _forget_connection(self, conn):
        try:
            links = conn._eh_links
        except AttributeError:
            return
        for link in list(links):
            self._forget(link)
        conn._eh_links = []

    def _forget(self, link):
        try:
            state = link._eh_state
        except AttributeError:
            return
        if isinstance(state, ConsumerState):
            state.closed = True
            if state in state.partition.consumers:
                state.partition.consumers.remove(state)
        elif isinstance(state, ReplyState):
            replies = link.connection._eh_replies
            addr = link.remote_target.address
            if replies.get(addr) is state:
                del replies[addr]
        link._eh_state = None

    def _track(self, link, state):
        link._eh_state = state
        link.connection._eh_links.append(link)

    # -- attach handling --
    def _open_inbound(self, link):
        """The client sends on this link: an RPC request link or a producer."""
        address = link.remote_target.address or ""
        if address == "$cbs":
            mirror(link)
            link.open()
            link.flow(PRODUCER_CREDIT)
            self._track(link, RpcState("cbs"))
            return
        if address == "$management" or address.endswith("/$management"):
            mirror(link)
            link.open()
            link.flow(PRODUCER_CREDIT)
            self._track(link, RpcState("management"))
            return
        parts = address.split("/")
        hub = self.hubs.get(parts[0])
        if hub is None:
            refuse(link, "amqp:not-found",
                   "The messaging entity '%s' could not be found." % parts[0])
            return
        partition = None
        if len(parts) == 3 and parts[1].lower() == "partitions":
            partition = hub.partition(parts[2])
            if partition is None:
                refuse(link, "com.microsoft:argument-out-of-range",
                       "The specified partition is invalid for an EventHub partition sender or receiver. "
                       "It should be between 0 and %d." % (len(hub.partitions) - 1))
                return
        elif len(parts) != 1:
            refuse(link, "amqp:not-found", "The messaging entity '%s' could not be found." % address)
            return
        mirror(link)
        link.max_message_size = MAX_MESSAGE_SIZE
        link.open()
        link.flow(PRODUCER_CREDIT)
        self._track(link, ProducerState(hub, partition))
        log("producer attached", address)

    def _open_outbound(self, link):
        """The client receives on this link: an RPC reply link or a consumer."""
        source = link.remote_source.address or ""
        if source == "$cbs" or source == "$management" or source.endswith("/$management"):
            mirror(link)
            link.open()
            state = ReplyState(link)
            conn = link.connection
            try:
                replies = conn._eh_replies
            except AttributeError:
                replies = conn._eh_replies = {}
            replies[link.remote_target.address] = state
            self._track(link, state)
            return
        parts = source.split("/")
        if len(parts) != 5 or parts[1].lower() != "consumergroups" or parts[3].lower() != "partitions":
            refuse(link, "amqp:not-found", "The messaging entity '%s' could not be found." % source)
            return
        hub = self.hubs.get(parts[0])
        if hub is None:
            refuse(link, "amqp:not-found", "The messaging entity '%s' could not be found." % parts[0])
            return
        partition = hub.partition(parts[4])
        if partition is None:
            refuse(link, "com.microsoft:argument-out-of-range",
                   "The specified partition is invalid for an EventHub partition sender or receiver. "
                   "It should be between 0 and %d." % (len(hub.partitions) - 1))
            return
        group = parts[2]
        if not hub.has_group(group):
            refuse(link, "amqp:not-found",
                   "The messaging entity '%s/consumergroups/%s' could not be found." % (hub.name, group))
            return
        keys = getattr(link.connection, "_eh_keys", set())
        if any(k.endswith(SEND_ONLY_SUFFIX) for k in keys):
            refuse(link, "amqp:unauthorized-access",
                   "Unauthorized access. 'Listen' claim(s) are required to perform this operation. "
                   "Resource: '%s'." % source.lower())
            return
        selector = None
        filt = None
        fd = link.remote_source.filter
        fd.rewind()
        if fd.next():
            filt = fd.get_object()
        if isinstance(filt, dict):
            for key, value in filt.items():
                if key == SELECTOR_FILTER:
                    selector = getattr(value, "value", value)
        try:
            index = partition.start_index(selector)
        except ValueError as e:
            refuse(link, "amqp:not-implemented", "emulator: %s" % e)
            return
        props = link.remote_properties or {}
        epoch = props.get(EPOCH)
        name = props.get(RECEIVER_NAME) or link.name
        # Epoch rules: a receiver with an epoch takes the partition from every
        # receiver of its consumer group with a lower or equal epoch and from
        # every receiver without one; a lower epoch (or none, while an epoch
        # receiver exists) is refused.
        rivals = [c for c in partition.consumers if c.group == group and not c.closed]
        holders = [c for c in rivals if c.epoch is not None]
        if holders:
            top = max(c.epoch for c in holders)
            if epoch is None or epoch < top:
                # Like the service: the attach succeeds, then the link is
                # detached at once, so the client sees its ownership lost.
                mirror(link)
                link.open()
                link.condition = Condition(
                    "amqp:link:stolen",
                    "Receiver '%s' with epoch '%s' cannot be created: a receiver with epoch '%d' "
                    "exists. TrackingId:emulator" % (name, epoch, top))
                link.close()
                log("refused lower epoch", epoch, "below", top)
                return
        if epoch is not None:
            for c in rivals:
                self._steal(c, name, epoch)
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        link.snd_settle_mode = link.SND_SETTLED
        link.rcv_settle_mode = link.remote_rcv_settle_mode
        link.open()
        state = ConsumerState(link, partition, group, epoch, index, name)
        partition.consumers.append(state)
        self._track(link, state)
        log("consumer attached", source, "selector", selector, "start", index, "epoch", epoch)
        self._pump(state)

    def _steal(self, victim, thief, epoch):
        victim.closed = True
        if victim in victim.partition.consumers:
            victim.partition.consumers.remove(victim)
        link = victim.link
        link._eh_state = None
        link.condition = Condition(
            "amqp:link:stolen",
            "New receiver '%s' with higher epoch of '%d' is created hence current receiver '%s' "
            "with epoch '%s' is getting disconnected. TrackingId:emulator" % (thief, epoch, victim.name, victim.epoch))
        link.close()
        log("stole partition", victim.partition.id, "from", victim.name)

    # -- flow and deliveries --
    def on_link_flow(self, event):
        link = event.link
        state = getattr(link, "_eh_state", None) if link.is_sender else None
        if isinstance(state, ConsumerState):
            self._pump(state)
        elif isinstance(state, ReplyState):
            self._pump_replies(state)

    def _pump(self, state):
        if state.closed:
            return
        link = state.link
        events = state.partition.events
        impl = link._impl
        n = min(link.credit, len(events) - state.next)
        for ev in events[state.next:state.next + n]:
            dlv = pn_delivery(impl, str(next(state.tags)))
            pn_link_send(impl, ev.wire)
            pn_link_advance(impl)
            pn_delivery_settle(dlv)
        state.next += max(n, 0)

    def _pump_replies(self, state):
        link = state.link
        while link.credit > 0 and state.queue:
            msg = state.queue.pop(0)
            dlv = link.send(msg, tag=str(next(state.tags)))
            if link.snd_settle_mode == link.SND_SETTLED:
                dlv.settle()

    def on_delivery(self, event):
        dlv = event.delivery
        link = dlv.link
        if not link.is_receiver:
            return  # outcomes of our own sends: consumer deliveries are pre-settled
        if not dlv.readable or dlv.partial:
            return
        data = link.recv(dlv.pending)
        link.advance()
        state = getattr(link, "_eh_state", None)
        outcome = Delivery.ACCEPTED
        try:
            if isinstance(state, RpcState):
                self._rpc(link, state, data)
            elif isinstance(state, ProducerState):
                if len(data) > MAX_MESSAGE_SIZE:
                    dlv.local.condition = Condition(
                        "amqp:link:message-size-exceeded",
                        "The received message (%d bytes) exceeds the limit (%d bytes)" % (len(data), MAX_MESSAGE_SIZE))
                    outcome = Delivery.REJECTED
                else:
                    self._publish(state, data)
            else:
                outcome = Delivery.REJECTED
        except Exception as e:
            log("delivery failed:", repr(e))
            dlv.local.condition = Condition("amqp:decode-error", "emulator: %s" % e)
            outcome = Delivery.REJECTED
        dlv.update(outcome)
        dlv.settle()
        if link.credit < PRODUCER_CREDIT // 2:
            link.flow(PRODUCER_CREDIT - link.credit)

    def _publish(self, state, data):
        sections = split_sections(data)
        envelope_key = None
        bodies = []
        for code, raw in sections:
            if code == SEC_MESSAGE_ANN:
                for name, entry in map_entries(raw):
                    if name == "x-opt-partition-key":
                        value = section_value(b"\x00\x53\x77" + entry[_skip_value(entry, 0):])
                        if isinstance(value, str):
                            envelope_key = value
            elif code == SEC_DATA:
                bodies.append(data_value(raw))
        batch = bodies and all(looks_like_message(b) for b in bodies)
        partition = state.partition or state.hub.route(envelope_key)
        now_ms = int(time.time() * 1000)
        if batch:
            for body in bodies:
                partition.append(split_sections(body), envelope_key, now_ms)
        else:
            partition.append(sections, envelope_key, now_ms)
        for c in list(partition.consumers):
            self._pump(c)

    def _rpc(self, link, state, data):
        req = Message()
        req.decode(data)
        props = req.properties or {}
        if state.kind == "cbs":
            code, desc, body = 202, "Accepted", None
            name = key_name(req.body)
            if name is not None:
                conn = link.connection
                try:
                    conn._eh_keys.add(name)
                except AttributeError:
                    conn._eh_keys = {name}
        else:
            code, desc, body = self._management(props)
        reply = Message(correlation_id=str(req.id), body=body,
                        properties={"status-code": int32(code), "status-description": desc})
        replies = getattr(link.connection, "_eh_replies", {})
        target = replies.get(req.reply_to)
        if target is None:
            log("no reply link for", req.reply_to)
            return
        target.queue.append(reply)
        self._pump_replies(target)

    def _management(self, props):
        if props.get("operation") != "READ":
            return 400, "emulator: unsupported operation %r" % props.get("operation"), None
        hub = self.hubs.get(props.get("name"))
        if hub is None:
            return 404, "The messaging entity '%s' could not be found." % props.get("name"), None
        kind = props.get("type")
        if kind == "com.microsoft:eventhub":
            ids = Array(UNDESCRIBED, Data.STRING, *[p.id for p in hub.partitions])
            return 200, "OK", {
                "name": hub.name,
                "created_at": timestamp(hub.created_ms),
                "partition_ids": ids,
                "georeplication_factor": int32(1),
            }
        if kind == "com.microsoft:partition":
            p = hub.partition(str(props.get("partition")))
            if p is None:
                return 404, "emulator: no partition %r" % props.get("partition"), None
            last = p.events[-1] if p.events else None
            return 200, "OK", {
                "name": hub.name,
                "partition": p.id,
                "begin_sequence_number": 0,
                "last_enqueued_sequence_number": last.seq if last else -1,
                "last_enqueued_offset": str(last.offset) if last else "-1",
                "last_enqueued_time_utc": timestamp(last.enqueued_ms if last else 0),
                "is_partition_empty": last is None,
            }
        return 400, "emulator: unsupported type %r" % kind, None


def key_name(token):
    """The key name (skn) of a SAS put-token, or None."""
    if not isinstance(token, str) or not token.startswith("SharedAccessSignature "):
        return None
    for field in token[len("SharedAccessSignature "):].split("&"):
        k, _, v = field.partition("=")
        if k == "skn":
            return urllib.parse.unquote(v)
    return None


def parse_hub(spec):
    """name:partitions, or name:partitions:group,group... to declare its consumer groups."""
    fields = spec.split(":")
    if len(fields) not in (2, 3) or not fields[0]:
        raise argparse.ArgumentTypeError("want name:partitions[:group,...], got %r" % spec)
    name, count = fields[0], fields[1]
    try:
        n = int(count)
    except ValueError:
        raise argparse.ArgumentTypeError("partitions of %r is not a number" % spec)
    if not 1 <= n <= 1024:
        raise argparse.ArgumentTypeError("partitions of %r must be 1..1024" % spec)
    groups = None
    if len(fields) == 3:
        groups = [g for g in fields[2].split(",") if g]
        if not groups:
            raise argparse.ArgumentTypeError("consumer groups of %r are empty" % spec)
    return Hub(name, n, groups)


def main(argv):
    global log_enabled
    ap = argparse.ArgumentParser(description="Event Hubs AMQP 1.0 emulator for tests")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    ap.add_argument("--hub", action="append", type=parse_hub, default=[],
                    help="name:partitions[:group,...], repeatable; groups limit the consumer groups")
    ap.add_argument("--exit-on-eof", action="store_true",
                    help="exit when standard input closes (the parent died)")
    ap.add_argument("--verbose", action="store_true", help="log links to stderr")
    args = ap.parse_args(argv)
    if not args.hub:
        ap.error("at least one --hub name:partitions is required")
    names = [h.name for h in args.hub]
    if len(set(names)) != len(names):
        ap.error("hub names must be unique")
    log_enabled = args.verbose

    emu = Emulator(args.host, args.port, args.hub)
    container = Container(emu)

    def stop(*_):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_on_eof:
        def watch():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    container.run()


if __name__ == "__main__":
    main(sys.argv[1:])
