#!/usr/bin/env escript
%% tools/examples/kv_cluster/kv_cluster.cc in Erlang/OTP, for comparing the two programs' size
%% (perf/compare/loc.sh counts both the same way): two nodes, each with a supervised store
%% registered as kv; keys go to a node by hash; node a serves "put K V", "get K", "count" and
%% "crash NODE" on TCP, puts 10,000 keys through it, reads some back and crashes b's store.
%% Run: escript perf/compare/kv_cluster.escript (erlang-base from Debian).
-mode(compile).

main(_) ->
    logger:set_primary_config(level, none),
    os:cmd("epmd -daemon"),
    {ok, _} = net_kernel:start([list_to_atom("a_" ++ os:getpid()), shortnames]),
    {ok, Peer, B} = peer:start_link(#{name => peer:random_name()}),
    load_store(B),
    Nodes = [node(), B],
    [ok = erpc:call(N, kv_store, start, []) || N <- Nodes],
    {ok, Listen} = gen_tcp:listen(0, [binary, {packet, line}, {active, false}, {reuseaddr, true}]),
    {ok, Port} = inet:port(Listen),
    spawn(fun() -> accept(Listen, Nodes) end),
    {ok, C} = gen_tcp:connect("127.0.0.1", Port, [binary, {packet, line}, {active, false}]),
    ask(C, [io_lib:format("put key~p value~p", [I, I]) || I <- lists:seq(0, 9999)]),
    [Count, V42, V7, _] = ask(C, ["count", "get key42", "get key7", "crash " ++ atom_to_list(B)]),
    io:format("10,000 keys put; per node: ~s~nkey42 = ~s, key7 = ~s~n", [Count, V42, V7]),
    after_crash(C, 100),
    gen_tcp:close(C),
    peer:stop(Peer).

%% The store module, compiled here and loaded on both nodes.
load_store(B) ->
    Src = ["-module(kv_store).",
           "-export([start/0, start_link/0, init/1, loop/1]).",
           "start() -> {ok, P} = supervisor:start_link({local, kv_sup}, kv_store, sup), unlink(P), ok.",
           "init(sup) -> {ok, {#{intensity => 5}, [#{id => kv, start => {kv_store, start_link, []}}]}}.",
           "start_link() -> Pid = spawn_link(kv_store, loop, [#{}]), register(kv, Pid), {ok, Pid}.",
           "loop(Data) -> receive",
           "  {put, K, V} -> loop(Data#{K => V});",
           "  {get, From, Ref, K} -> From ! {Ref, maps:get(K, Data, none)}, loop(Data);",
           "  {count, From, Ref} -> From ! {Ref, maps:size(Data)}, loop(Data);",
           "  crash -> exit(crashed_on_purpose) end."],
    {ok, Tokens, _} = erl_scan:string(string:join(Src, "\n")),
    Forms = [begin {ok, F} = erl_parse:parse_form(T), F end || T <- forms(Tokens, [])],
    {ok, kv_store, Bin} = compile:forms(Forms, [binary]),
    [{module, kv_store} = erpc:call(N, code, load_binary, [kv_store, "kv_store.erl", Bin])
     || N <- [node(), B]].

forms([], []) -> [];
forms([{dot, _} = Dot | Rest], Acc) -> [lists:reverse([Dot | Acc]) | forms(Rest, [])];
forms([T | Rest], Acc) -> forms(Rest, [T | Acc]).

owner(Nodes, Key) -> lists:nth(erlang:phash2(Key, length(Nodes)) + 1, Nodes).

call(Node, Msg) ->
    Ref = monitor(process, {kv, Node}),
    {kv, Node} ! erlang:insert_element(2, erlang:insert_element(2, Msg, Ref), self()),
    receive
        {Ref, Reply} -> demonitor(Ref, [flush]), {ok, Reply};
        {'DOWN', Ref, _, _, Reason} -> {error, Reason}
    after 5000 -> demonitor(Ref, [flush]), {error, timeout}
    end.

serve(Nodes, Line) ->
    case string:lexemes(string:trim(Line), " ") of
        ["put", K, V] -> {kv, owner(Nodes, K)} ! {put, K, V}, "ok";
        ["get", K] ->
            case call(owner(Nodes, K), {get, K}) of
                {ok, none} -> "none";
                {ok, V} -> V;
                {error, R} -> io_lib:format("error ~p", [R])
            end;
        ["count"] ->
            [io_lib:format("~s=~p ", [N, element(2, call(N, {count}))]) || N <- Nodes];
        ["crash", N] -> {kv, list_to_atom(N)} ! crash, "ok";
        _ -> "error: put K V | get K | count | crash NODE"
    end.

accept(Listen, Nodes) ->
    {ok, S} = gen_tcp:accept(Listen),
    spawn(fun() -> connection(S, Nodes) end),
    accept(Listen, Nodes).

connection(S, Nodes) ->
    case gen_tcp:recv(S, 0) of
        {ok, Line} ->
            ok = gen_tcp:send(S, [serve(Nodes, binary_to_list(Line)), "\n"]),
            connection(S, Nodes);
        {error, closed} -> ok
    end.

ask(C, Lines) ->
    ok = gen_tcp:send(C, [[L, "\n"] || L <- Lines]),
    [begin {ok, A} = gen_tcp:recv(C, 0), string:trim(binary_to_list(A)) end || _ <- Lines].

after_crash(_, 0) -> io:format("b's store did not come back~n");
after_crash(C, Tries) ->
    [Count] = ask(C, ["count"]),
    case string:find(Count, "noproc") of
        nomatch -> io:format("after b's store crashed and restarted: ~s~n", [Count]);
        _ -> timer:sleep(10), after_crash(C, Tries - 1)
    end.
