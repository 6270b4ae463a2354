#!/usr/bin/env escript
%% The FT1-FT3 workloads of perf/workloads_fault.cc, in Erlang/OTP, for comparison on the same
%% machine (erlang-base from Debian; not a build dependency). Run: escript perf/compare/fault_tolerance.escript
-mode(compile).
-export([worker/1, init/1]).

main(_) ->
    process_flag(trap_exit, true),
    logger:set_primary_config(level, none),  % FT2 crashes 10,000 times; Snow's run logs nothing either
    ft1(), ft2(), ft3().

now_ns() -> erlang:monotonic_time(nanosecond).
median(L) -> lists:nth(length(L) div 2 + 1, lists:sort(L)).

%% FT1: spawn_link a chain of 10,000, crash the tail, time the propagation back.
chain(Root, 0) -> Root ! {tail, self()}, receive crash -> exit(tail_crashed) end;
chain(Root, N) -> spawn_link(fun() -> chain(Root, N - 1) end), receive never -> ok end.
ft1() ->
    Len = 10000, Self = self(),
    Rounds = [begin
                  T0 = now_ns(),
                  Head = spawn_link(fun() -> chain(Self, Len - 1) end),
                  Tail = receive {tail, P} -> P end,
                  T1 = now_ns(),
                  Tail ! crash,
                  receive {'EXIT', Head, tail_crashed} -> ok end,
                  T2 = now_ns(),
                  {(T1 - T0) / Len, (T2 - T1) / Len}
              end || _ <- lists:seq(1, 5)],
    io:format("FT1 erlang actors=~p ns_per_spawn_link=~.1f ns_per_exit_hop=~.1f~n",
              [Len, median([B || {B, _} <- Rounds]), median([P || {_, P} <- Rounds])]).

%% FT2: supervisor restart latency, crash to restarted child running.
worker(Probe) ->
    Pid = proc_lib:spawn_link(fun() -> Probe ! {ready, self(), now_ns()},
                                       receive {crash, From} -> From ! {crashing, now_ns()}, exit(crash) end
                              end),
    {ok, Pid}.
init(Probe) ->
    {ok, {#{strategy => one_for_one, intensity => 100000, period => 3600},
          [#{id => worker, start => {?MODULE, worker, [Probe]}}]}}.
ft2() ->
    N = 10000, Self = self(),
    {ok, _Sup} = supervisor:start_link(?MODULE, Self),
    First = receive {ready, P, _} -> P end,
    {Lat, _} = lists:foldl(fun(_, {Acc, Cur}) ->
                                   Cur ! {crash, self()},
                                   C = receive {crashing, T} -> T end,
                                   receive {ready, Next, R} -> {[R - C | Acc], Next} end
                           end, {[], First}, lists:seq(1, N)),
    S = lists:sort(Lat),
    io:format("FT2 erlang restarts=~p restart_us_p50=~.2f restart_us_p99=~.2f~n",
              [N, lists:nth(N div 2, S) / 1000, lists:nth(N * 99 div 100, S) / 1000]).

%% FT3: monitor+demonitor of a live process; gen_server-style call round trip.
ft3() ->
    Target = spawn(fun() -> receive stop -> ok end end),
    Ops = 1000000,
    T0 = now_ns(),
    lists:foreach(fun(_) -> R = erlang:monitor(process, Target), erlang:demonitor(R) end,
                  lists:seq(1, Ops)),
    T1 = now_ns(),
    Server = spawn(fun Loop() -> receive {'$gen_call', From, get} -> gen:reply(From, 1), Loop() end end),
    Calls = 200000,
    T2 = now_ns(),
    lists:foreach(fun(_) -> {ok, 1} = gen:call(Server, '$gen_call', get, 5000) end,
                  lists:seq(1, Calls)),
    T3 = now_ns(),
    io:format("FT3 erlang ns_per_monitor_demonitor=~.1f ns_per_call=~.1f~n",
              [(T1 - T0) / Ops, (T3 - T2) / Calls]).
