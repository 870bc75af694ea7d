use super::*;

fn unit_of(path: Option<&str>) -> Result<SystemdUnit, FieldError> {
    unit(path, "linux.cgroupsPath", "ctr1", None, None)
}

fn write(file: &str, value: &str) -> CgroupWrite {
    CgroupWrite {
        field: format!("f.{file}"),
        controller: "x",
        file: file.into(),
        value: value.into(),
        optional: false,
    }
}

fn prop(p: &[UnitProperty], name: &str) -> Option<Value> {
    p.iter().find(|p| p.name == name).map(|p| p.value.clone())
}

#[test]
fn paths_are_read_as_runc_reads_them() {
    let u = unit_of(None).unwrap();
    assert_eq!(
        (u.name.as_str(), u.slice.as_str()),
        ("cella-ctr1.scope", "system.slice")
    );
    assert_eq!(
        cgroup_path(&u),
        PathBuf::from("/system.slice/cella-ctr1.scope")
    );

    let u = unit_of(Some("kubepods-besteffort-pod12.slice:cri-containerd:abc")).unwrap();
    assert_eq!(u.name, "cri-containerd-abc.scope");
    assert_eq!(
        cgroup_path(&u),
        PathBuf::from(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope"
        )
    );
    let u = unit_of(Some(":docker:1234")).unwrap();
    assert_eq!(
        (u.name.as_str(), u.slice.as_str()),
        ("docker-1234.scope", "system.slice")
    );
    let u = unit_of(Some("-.slice:p:n")).unwrap();
    assert_eq!(cgroup_path(&u), PathBuf::from("/p-n.scope"));
    assert_eq!(prop(&u.start, "Slice"), Some(Value::Str("-.slice".into())));
    assert_eq!(prop(&u.start, "Delegate"), Some(Value::Bool(true)));
}

#[test]
fn bad_paths_are_refused_naming_the_field() {
    for bad in [
        "/a/b",
        "a:b",
        "a:b:c:d",
        "user.slice/x.slice:p:n",
        "a--b.slice:p:n",
        "-a.slice:p:n",
        ".slice:p:n",
        "system:p:n",
        "system.slice:p:n.slice",
        "system.slice:p:n/m",
        "system.slice:p:n m",
    ] {
        let err = unit_of(Some(bad)).unwrap_err();
        assert_eq!(err.field, "linux.cgroupsPath", "{bad}");
    }
}

#[test]
fn slices_expand_like_systemds() {
    assert_eq!(
        expand_slice("a-b-c.slice").unwrap(),
        "/a.slice/a-b.slice/a-b-c.slice"
    );
    assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
    assert_eq!(expand_slice("-.slice").unwrap(), "/");
    assert_eq!(expand_slice("a-.slice"), None);
    assert_eq!(expand_slice("x"), None);
}

#[test]
fn annotations_become_properties() {
    let annotations: HashMap<String, String> = [
        ("org.systemd.property.TimeoutStopUSec", "uint64 123456789"),
        ("org.systemd.property.CollectMode", "'inactive-or-failed'"),
        ("org.systemd.property.TimeoutStopSec", "456"),
        ("org.systemd.property.RuntimeMaxSec", "1.5"),
        ("other", "ignored"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let u = unit(None, "linux.cgroupsPath", "c", Some(&annotations), None).unwrap();
    assert_eq!(
        prop(&u.start, "CollectMode"),
        Some(Value::Str("inactive-or-failed".into()))
    );
    assert_eq!(
        prop(&u.start, "RuntimeMaxUSec"),
        Some(Value::U64(1_500_000))
    );
    // Both spellings say TimeoutStopUSec; the later (in name order) wins
    // at systemd, as it takes the last of a repeated property.
    let stops: Vec<_> = u
        .start
        .iter()
        .filter(|p| p.name == "TimeoutStopUSec")
        .collect();
    assert_eq!(stops.len(), 2);
    assert_eq!(stops[1].value, Value::U64(123_456_789));

    for (key, value) in [
        ("org.systemd.property.Bad1", "1"),
        ("org.systemd.property.Ab", "1"),
        ("org.systemd.property.CollectMode", "{'a': 1}"),
        ("org.systemd.property.Weight", "1.5"),
    ] {
        let one = HashMap::from([(key.to_string(), value.to_string())]);
        let err = unit(None, "linux.cgroupsPath", "c", Some(&one), None).unwrap_err();
        assert_eq!(err.field, format!("annotations.{key:?}"), "{err}");
    }
}

#[test]
fn limits_become_properties_as_in_runc() {
    let mut writes = vec![
        write("memory.max", "1073741824"),
        write("memory.swap.max", "max"),
        write("memory.low", "1000"),
        write("pids.max", "0"),
        write("cpu.weight", "100"),
        write("cpu.max", "12345 100000"),
        write("cpuset.cpus", "0-2,9"),
        write("io.weight", "10"),
    ];
    let p = resource_properties(&mut writes).unwrap();
    assert_eq!(prop(&p, "MemoryMax"), Some(Value::U64(1 << 30)));
    assert_eq!(prop(&p, "MemorySwapMax"), Some(Value::U64(u64::MAX)));
    assert_eq!(prop(&p, "MemoryLow"), Some(Value::U64(1000)));
    assert_eq!(prop(&p, "TasksMax"), Some(Value::U64(1)));
    assert_eq!(prop(&p, "CPUWeight"), Some(Value::U64(100)));
    // 12345 per 100 ms is 123450 us per second: rounded up to 130000, and
    // the file says the same.
    assert_eq!(prop(&p, "CPUQuotaPerSecUSec"), Some(Value::U64(130_000)));
    assert_eq!(prop(&p, "CPUQuotaPeriodUSec"), Some(Value::U64(100_000)));
    assert_eq!(writes[5].value, "13000 100000");
    assert_eq!(
        prop(&p, "AllowedCPUs"),
        Some(Value::Array {
            elem: "y".into(),
            items: vec![Value::Byte(0b111), Value::Byte(0b10)]
        })
    );
    assert_eq!(p.len(), 8, "{p:?}");

    let mut idle = vec![
        write("cpu.idle", "1"),
        write("cpu.weight", "5"),
        write("cpu.max", "max"),
    ];
    let p = resource_properties(&mut idle).unwrap();
    assert_eq!(prop(&p, "CPUWeight"), Some(Value::U64(0)));
    assert_eq!(prop(&p, "CPUQuotaPerSecUSec"), Some(Value::U64(u64::MAX)));
    assert_eq!(idle[2].value, "max");

    let mut bad = vec![write("cpuset.cpus", "3-1")];
    assert_eq!(
        resource_properties(&mut bad).unwrap_err().field,
        "f.cpuset.cpus"
    );
}

#[test]
fn oom_group_is_a_start_property() {
    assert_eq!(
        oom_policy(&[write("memory.oom.group", "1")]).map(|p| p.value),
        Some(Value::Str("kill".into()))
    );
    assert_eq!(oom_policy(&[write("memory.max", "1")]), None);
}

#[test]
fn a_user_managers_units_are_below_its_cgroup_in_user_slice() {
    let user = UserManager {
        address: "unix:path=/run/user/1000/bus".into(),
        uid: 1000,
        control_group: "/user.slice/user-1000.slice/user@1000.service".into(),
    };
    let u = unit(None, "linux.cgroupsPath", "c1", None, Some(&user)).unwrap();
    assert_eq!(
        (u.name.as_str(), u.slice.as_str()),
        ("cella-c1.scope", "user.slice")
    );
    assert_eq!(u.user.as_ref(), Some(&user));
    assert_eq!(
        cgroup_path(&u),
        PathBuf::from("/user.slice/user-1000.slice/user@1000.service/user.slice/cella-c1.scope")
    );
    // runc's docs/cgroup-v2.md example, and a nested slice of the manager.
    for (path, want) in [
        ("user.slice:runc:foo", "user.slice/runc-foo.scope"),
        ("app-x.slice:p:n", "app.slice/app-x.slice/p-n.scope"),
        ("-.slice:p:n", "p-n.scope"),
    ] {
        let u = unit(Some(path), "linux.cgroupsPath", "c1", None, Some(&user)).unwrap();
        assert_eq!(
            cgroup_path(&u),
            Path::new("/user.slice/user-1000.slice/user@1000.service").join(want),
            "{path}"
        );
    }
}
