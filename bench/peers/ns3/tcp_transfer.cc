// ns-3 peer of splitsim's TCP-like link mode: one fresh TcpNewReno connection sends N bytes
// over a point-to-point link; prints (JSON, one line) when the receiving application has all
// of them, counted from the moment the client calls Connect (the SYN leaves at t = 0).
//
// Built and run by bench/ns3.ts against Debian's libns3-dev (ns-3.37). The configuration is
// what splitsim models: NewReno without SACK or timestamps (RFC 6582 recovery, RFC 3042
// limited transmit), IW 10, MSS 1460, min RTO 200 ms, initial (SYN) RTO 1 s, no Nagle, buffers
// and queue large enough never to limit the flow, and delayed ACKs off (count 1) or on.
// Losses are the k-th data packets to reach the receiver (1-based, retransmissions counted,
// SYN/ACK packets not), as in splitsim's `{model: list, drop: [...]}`.

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

#include <cstdio>
#include <set>
#include <sstream>
#include <string>

using namespace ns3;

namespace
{

/** Drops the data packets whose 1-based arrival numbers are listed; counts every data packet. */
class DropListedDataPackets : public ErrorModel
{
  public:
    static TypeId GetTypeId()
    {
        static TypeId tid = TypeId("splitsim::DropListedDataPackets")
                                .SetParent<ErrorModel>()
                                .AddConstructor<DropListedDataPackets>();
        return tid;
    }

    std::set<uint64_t> drop;
    uint64_t dataPackets = 0;
    uint64_t dropped = 0;
    uint32_t highestEnd = 0;
    uint64_t resent = 0;
    bool trace = false;

  private:
    bool DoCorrupt(Ptr<Packet> p) override
    {
        Ptr<Packet> c = p->Copy();
        PppHeader ppp;
        Ipv4Header ip;
        TcpHeader tcp;
        c->RemoveHeader(ppp);
        c->RemoveHeader(ip);
        c->RemoveHeader(tcp);
        uint32_t len = c->GetSize();
        if (len == 0)
        {
            return false; // control packet: never counted, never dropped
        }
        ++dataPackets;
        uint32_t seq = tcp.GetSequenceNumber().GetValue();
        if (seq + len <= highestEnd)
        {
            ++resent;
        }
        highestEnd = std::max(highestEnd, seq + len);
        bool lose = drop.count(dataPackets) > 0;
        if (lose)
        {
            ++dropped;
        }
        if (trace)
        {
            std::fprintf(stderr,
                         "rx %.6f seq %u len %u n %llu%s\n",
                         Simulator::Now().GetSeconds() * 1000,
                         seq,
                         len,
                         static_cast<unsigned long long>(dataPackets),
                         lose ? " DROP" : "");
        }
        return lose;
    }

    void DoReset() override
    {
    }
};

uint64_t g_received = 0;
uint64_t g_target = 0;
double g_deliveredAtMs = -1;

void
OnSinkRx(Ptr<const Packet> p, const Address&)
{
    g_received += p->GetSize();
    if (g_deliveredAtMs < 0 && g_received >= g_target)
    {
        g_deliveredAtMs = Simulator::Now().GetSeconds() * 1000;
    }
}

void
OnCwnd(uint32_t, uint32_t now)
{
    std::fprintf(stderr, "cwnd %.6f %u\n", Simulator::Now().GetSeconds() * 1000, now);
}

void
OnSsthresh(uint32_t, uint32_t now)
{
    std::fprintf(stderr, "ssthresh %.6f %u\n", Simulator::Now().GetSeconds() * 1000, now);
}

void
OnInFlight(uint32_t, uint32_t now)
{
    std::fprintf(stderr, "inflight %.6f %u\n", Simulator::Now().GetSeconds() * 1000, now);
}

void
OnHighest(SequenceNumber32, SequenceNumber32 now)
{
    std::fprintf(stderr, "high %.6f %u\n", Simulator::Now().GetSeconds() * 1000, now.GetValue());
}

void
OnCongState(TcpSocketState::TcpCongState_t, TcpSocketState::TcpCongState_t now)
{
    std::fprintf(stderr, "state %.6f %d\n", Simulator::Now().GetSeconds() * 1000, static_cast<int>(now));
}

std::set<uint64_t>
ParseDropList(const std::string& s)
{
    std::set<uint64_t> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
    {
        if (item.empty())
        {
            continue;
        }
        char* end = nullptr;
        unsigned long long k = std::strtoull(item.c_str(), &end, 10);
        if (*end != '\0' || k == 0)
        {
            std::fprintf(stderr, "--drop: expected positive integers separated by commas, got \"%s\"\n", s.c_str());
            std::exit(2);
        }
        out.insert(k);
    }
    return out;
}

} // namespace

int
main(int argc, char* argv[])
{
    double rateBps = 6e6;
    double delayMs = 10;
    uint64_t bytes = 100000;
    uint32_t delAckCount = 1;
    double delAckTimeoutMs = 200;
    double minRtoMs = 200;
    double synRtoMs = 1000;
    uint32_t iw = 10;
    uint32_t mss = 1460;
    std::string drop;
    bool trace = false;

    CommandLine cmd;
    cmd.AddValue("rate-bps", "link rate, bit/s", rateBps);
    cmd.AddValue("delay-ms", "one-way propagation delay, ms", delayMs);
    cmd.AddValue("bytes", "payload bytes", bytes);
    cmd.AddValue("delack-count", "segments per ACK (1 = every segment)", delAckCount);
    cmd.AddValue("delack-timeout-ms", "delayed-ACK timer, ms", delAckTimeoutMs);
    cmd.AddValue("min-rto-ms", "lower bound of the RTO, ms", minRtoMs);
    cmd.AddValue("syn-rto-ms", "RTO of the SYN, ms", synRtoMs);
    cmd.AddValue("iw", "initial window, segments", iw);
    cmd.AddValue("mss", "segment size, bytes", mss);
    cmd.AddValue("drop", "data packets to drop, 1-based arrival numbers, comma separated", drop);
    cmd.AddValue("trace", "print packet arrivals, cwnd and ssthresh on stderr", trace);
    cmd.Parse(argc, argv);
    g_target = bytes;

    Config::SetDefault("ns3::TcpL4Protocol::SocketType", TypeIdValue(TcpNewReno::GetTypeId()));
    Config::SetDefault("ns3::TcpL4Protocol::RecoveryType",
                       TypeIdValue(TcpClassicRecovery::GetTypeId()));
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(mss));
    Config::SetDefault("ns3::TcpSocket::InitialCwnd", UintegerValue(iw));
    Config::SetDefault("ns3::TcpSocket::DelAckCount", UintegerValue(delAckCount));
    Config::SetDefault("ns3::TcpSocket::DelAckTimeout", TimeValue(MilliSeconds(delAckTimeoutMs)));
    Config::SetDefault("ns3::TcpSocket::ConnTimeout", TimeValue(MilliSeconds(synRtoMs)));
    Config::SetDefault("ns3::TcpSocket::TcpNoDelay", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(1u << 28));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(1u << 28));
    Config::SetDefault("ns3::TcpSocketBase::MinRto", TimeValue(MilliSeconds(minRtoMs)));
    Config::SetDefault("ns3::TcpSocketBase::Sack", BooleanValue(false));
    Config::SetDefault("ns3::TcpSocketBase::Timestamp", BooleanValue(false));
    Config::SetDefault("ns3::RttEstimator::InitialEstimation", TimeValue(MilliSeconds(synRtoMs)));

    NodeContainer nodes;
    nodes.Create(2);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate(static_cast<uint64_t>(rateBps))));
    p2p.SetChannelAttribute("Delay", TimeValue(MicroSeconds(delayMs * 1000)));
    p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", QueueSizeValue(QueueSize("1000000p")));
    NetDeviceContainer devices = p2p.Install(nodes);

    InternetStackHelper stack;
    stack.Install(nodes);
    Ipv4AddressHelper address;
    address.SetBase("10.1.1.0", "255.255.255.0");
    Ipv4InterfaceContainer ifaces = address.Assign(devices);
    // Assign() installs the default queue disc (fq_codel); the device's FIFO is the bottleneck.
    TrafficControlHelper tch;
    tch.Uninstall(devices);

    Ptr<DropListedDataPackets> em = CreateObject<DropListedDataPackets>();
    em->drop = ParseDropList(drop);
    em->trace = trace;
    devices.Get(1)->SetAttribute("ReceiveErrorModel", PointerValue(em));

    const uint16_t port = 5000;
    PacketSinkHelper sinkHelper("ns3::TcpSocketFactory",
                                InetSocketAddress(Ipv4Address::GetAny(), port));
    ApplicationContainer sink = sinkHelper.Install(nodes.Get(1));
    sink.Start(Seconds(0));
    sink.Get(0)->TraceConnectWithoutContext("Rx", MakeCallback(&OnSinkRx));

    Ptr<Socket> socket = Socket::CreateSocket(nodes.Get(0), TcpSocketFactory::GetTypeId());
    if (trace)
    {
        socket->TraceConnectWithoutContext("CongestionWindow", MakeCallback(&OnCwnd));
        socket->TraceConnectWithoutContext("SlowStartThreshold", MakeCallback(&OnSsthresh));
        socket->TraceConnectWithoutContext("BytesInFlight", MakeCallback(&OnInFlight));
        socket->TraceConnectWithoutContext("HighestSequence", MakeCallback(&OnHighest));
        socket->TraceConnectWithoutContext("CongState", MakeCallback(&OnCongState));
    }
    socket->Bind();
    Simulator::Schedule(Seconds(0), [socket, &ifaces, bytes]() {
        socket->Connect(InetSocketAddress(ifaces.GetAddress(1), port));
        // Queued before the handshake completes: the data leaves right behind the final ACK.
        if (socket->Send(Create<Packet>(static_cast<uint32_t>(bytes))) < 0)
        {
            std::fprintf(stderr, "send buffer refused %llu bytes\n", static_cast<unsigned long long>(bytes));
            std::exit(1);
        }
    });

    Simulator::Stop(Seconds(3600));
    Simulator::Run();
    Simulator::Destroy();

    std::printf("{\"deliveredAtMs\":%.6f,\"dataPackets\":%llu,\"dropped\":%llu,\"retransmissions\":%llu}\n",
                g_deliveredAtMs,
                static_cast<unsigned long long>(em->dataPackets),
                static_cast<unsigned long long>(em->dropped),
                static_cast<unsigned long long>(em->resent));
    return g_deliveredAtMs < 0 ? 1 : 0;
}
