from messaging_helpers import send, messages_in


def show(name, statements):
    print(f"\n== {name}: {len(statements)} statements")
    for s in statements:
        print("   ", " ".join(s.split())[:150])


def test_counts(chat, count_queries):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Shown already")
    send(bob_client, cid, "Bob's news")
    [shown, news] = messages_in(cid)
    with count_queries() as q:
        r = alice_client.post(f"/messages/{cid}?after={shown.id}&seen=0", data={"body": "Alice answers"}, headers={"HX-Request": "true", "X-WB-Tab": "abc"})
    assert r.status_code == 200
    show("send", q)
    with count_queries() as q:
        r = bob_client.get(f"/messages/list?page=1&active={cid}", headers={"HX-Request": "true"})
    show("list", q)
    with count_queries() as q:
        r = bob_client.get("/messages/live?since=0", headers={"Accept": "application/json"})
    print(r.get_data(as_text=True)[:300])
    show("live (answers at once)", q)
    answered = messages_in(cid)[-1]
    with count_queries() as q:
        r = bob_client.get(f"/messages/{cid}/poll?after={news.id}&seen=0", headers={"HX-Request": "true"})
    show("poll", q)
    with count_queries() as q:
        r = bob_client.post(f"/messages/{cid}/read", headers={"HX-Request": "true"})
    show("read", q)
    with count_queries() as q:
        r = bob_client.get(f"/messages/{cid}", headers={"HX-Request": "true", "HX-Target": "thread-pane"})
    show("thread pane", q)
    with count_queries() as q:
        r = bob_client.get("/messages/badge", headers={"HX-Request": "true"})
    show("badge", q)
