#!/usr/bin/env escript
%% The D1 and D2 workloads of perf/workloads_dist.cc in Erlang/OTP, for comparison on the same
%% machine (erlang-base from Debian; not a build dependency). D1: a gen_server on a second node,
%% called by PID and by {Name, Node}, beside a plain ping-pong between the same two nodes (Snow's
%% W6). D2: spawn(Node, M, F, A) of a function that returns at once, one at a time, then 64
%% processes spawning in a loop. D3: a supervisor here whose permanent child runs on node b
%% (start tries b, then c); kill -9 of b's OS process; the time to the child's 'DOWN'
%% (noconnection) and until the restarted child on c reports in, median of 20 runs. Plain TCP
%% distribution (Snow's D1 also reports TLS).
%% Run: escript perf/compare/dist.escript
-mode(compile).
-behaviour(supervisor).
-export([init/1, start_on/3]).

main(_) ->
    logger:set_primary_config(level, none),  % D3 ends children on purpose; Snow's run logs little
    os:cmd("epmd -daemon"),
    {ok, _} = net_kernel:start([list_to_atom("bench_" ++ os:getpid()), shortnames]),
    {ok, Peer, Node} = peer:start_link(#{name => peer:random_name()}),
    load_server(Node),
    {ok, Server} = erpc:call(Node, gen_server, start, [{local, calls}, snow_d1, [], []]),
    Echo = erpc:call(Node, snow_d1, start_echo, []),
    Calls = 50000, Slices = 10,
    _ = echo_rts(Echo, 2000), _ = call_rts(Server, 2000),
    {E, C, N} = lists:foldl(
                  fun(_, {E0, C0, N0}) ->
                          {E0 ++ echo_rts(Echo, Calls div Slices),
                           C0 ++ call_rts(Server, Calls div Slices),
                           N0 ++ call_rts({calls, Node}, Calls div Slices div 5)}
                  end, {[], [], []}, lists:seq(1, Slices)),
    io:format("D1 erlang us_per_call=~.1f p99_us=~.1f w6_us=~.1f ratio=~.2f named_us_per_call=~.1f~n",
              [pct(C, 50), pct(C, 99), pct(E, 50), pct(C, 50) / pct(E, 50), pct(N, 50)]),
    d2(Node),
    peer:stop(Peer),
    d3().

%% D3. The supervisor's callback module is this script.
init({Nodes, Parent, Tag}) ->
    {ok, {#{strategy => one_for_one, intensity => 5, period => 5},
          [#{id => child, start => {?MODULE, start_on, [Nodes, Parent, Tag]}}]}}.

%% Starts the reporter on the first node that can (spawn_link to a node that is down gives a
%% process that exits at once with noconnection; such a node is skipped).
start_on([Node | Rest], Parent, Tag) ->
    case net_kernel:connect_node(Node) of
        true -> {ok, spawn_link(Node, snow_d1, report, [Parent, Tag])};
        _ -> start_on(Rest, Parent, Tag)
    end;
start_on([], _, _) -> {error, no_node}.

d3() ->
    process_flag(trap_exit, true),
    {ok, PeerC, C} = peer:start_link(#{name => peer:random_name()}),
    load_server(C),
    Runs = [d3_run(C, Run) || Run <- lists:seq(1, 20)],
    {Failover, Detect} = lists:unzip(Runs),
    io:format("D3 erlang failover_ms=~.2f kill9_detect_ms=~.2f ratio=~.2f runs=~w~n",
              [median(Failover), median(Detect), median(Failover) / median(Detect), 20]),
    peer:stop(PeerC).

d3_run(C, Run) ->
    {ok, _PeerB, B} = peer:start(#{name => peer:random_name()}),
    load_server(B),
    OsPid = erpc:call(B, os, getpid, []),
    {ok, Sup} = supervisor:start_link(?MODULE, {[B, C], self(), Run}),
    Child = receive {report, P, Run} -> P end,
    B = node(Child),
    Ref = monitor(process, Child),
    T0 = now_ns(),
    os:cmd("kill -9 " ++ OsPid),
    receive {'DOWN', Ref, process, Child, _} -> ok end,
    T1 = now_ns(),
    Again = receive {report, P2, Run} -> P2 end,
    T2 = now_ns(),
    C = node(Again),
    unlink(Sup), exit(Sup, kill),
    {(T2 - T0) / 1.0e6, (T1 - T0) / 1.0e6}.

median(L) -> lists:nth(length(L) div 2 + 1, lists:sort(L)).

d2(Node) ->
    Spawns = 20000, InFlight = 64,
    _ = spawns(Node, 1000),
    S = spawns(Node, Spawns),
    Self = self(), PerSpawner = Spawns div InFlight * 4,
    T0 = now_ns(),
    [spawn_link(fun() -> _ = spawns(Node, PerSpawner), Self ! done end) || _ <- lists:seq(1, InFlight)],
    [receive done -> ok end || _ <- lists:seq(1, InFlight)],
    Seconds = (now_ns() - T0) / 1.0e9,
    io:format("D2 erlang us_per_spawn=~.1f p99_us=~.1f spawns_per_s=~w in_flight=~w~n",
              [pct(S, 50), pct(S, 99), round(PerSpawner * InFlight / Seconds), InFlight]).

%% spawn/4 to another node returns once that node has made the process (OTP 23 and later).
spawns(Node, Count) ->
    [begin T0 = now_ns(), _ = spawn(Node, erlang, is_atom, [x]), now_ns() - T0 end
     || _ <- lists:seq(1, Count)].

%% The server module, compiled here and loaded on the peer (an escript's own code is not there).
load_server(Node) ->
    Src = ["-module(snow_d1).",
           "-export([init/1, handle_call/3, handle_cast/2, start_echo/0, echo/0, report/2]).",
           "init(_) -> {ok, 0}.",
           "handle_call({square, N}, _From, S) -> {reply, N * N, S}.",
           "handle_cast(_, S) -> {noreply, S}.",
           "start_echo() -> spawn(snow_d1, echo, []).",
           "echo() -> receive {From, N, Payload} -> From ! {self(), N, Payload}, echo() end.",
           "report(Parent, Tag) -> Parent ! {report, self(), Tag}, receive stop -> ok end."],
    Forms = [begin {ok, T, _} = erl_scan:string(S), {ok, F} = erl_parse:parse_form(T), F end
             || S <- Src],
    {ok, snow_d1, Bin} = compile:forms(Forms, [binary]),
    {module, snow_d1} = erpc:call(Node, code, load_binary, [snow_d1, "snow_d1.erl", Bin]).

now_ns() -> erlang:monotonic_time(nanosecond).
pct(L, P) -> lists:nth(max(1, round(length(L) * P / 100)), lists:sort(L)) / 1000.

call_rts(Server, Count) ->
    [begin T0 = now_ns(), I2 = gen_server:call(Server, {square, I}), I2 = I * I, now_ns() - T0 end
     || I <- lists:seq(1, Count)].

%% Snow's W6 round trip: 64 B out and back.
echo_rts(Echo, Count) ->
    Payload = binary:copy(<<"e">>, 64),
    [begin T0 = now_ns(), Echo ! {self(), I, Payload},
           receive {Echo, I, _} -> now_ns() - T0 end end
     || I <- lists:seq(1, Count)].
