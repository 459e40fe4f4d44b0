package io.odin.ws.api;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BodyAdmissionTest {

  @Test
  void onlyJsonIsPublishable() {
    assertTrue(BodyAdmission.isJson("application/json"));
    assertTrue(BodyAdmission.isJson("Application/JSON; charset=utf-8"));
    assertFalse(BodyAdmission.isJson(null));
    assertFalse(BodyAdmission.isJson("text/plain"));
    assertFalse(BodyAdmission.isJson("application/x-www-form-urlencoded"));
    assertFalse(BodyAdmission.isJson("multipart/form-data; boundary=x"));
    assertFalse(BodyAdmission.isJson("application/jsonp"));
  }

  @Test
  void knownLengthsReserveUpFrontWithinTheBudget() {
    BodyAdmission a = new BodyAdmission(100, 250);
    assertEquals(BodyAdmission.Verdict.TOO_LARGE, a.admit(101));
    assertEquals(BodyAdmission.Verdict.ADMIT, a.admit(100));
    assertEquals(BodyAdmission.Verdict.ADMIT, a.admit(100));
    assertEquals(BodyAdmission.Verdict.BUSY, a.admit(51), "would go over 250 in flight");
    assertEquals(200, a.inFlight(), "a refused body reserves nothing");
    a.release(100);
    assertEquals(BodyAdmission.Verdict.ADMIT, a.admit(51));
    assertEquals(151, a.inFlight());
  }

  @Test
  void chunkedBodiesReserveAsTheyArrive() {
    BodyAdmission a = new BodyAdmission(100, 120);
    assertEquals(BodyAdmission.Verdict.ADMIT, a.grow(0, 60));
    assertEquals(BodyAdmission.Verdict.TOO_LARGE, a.grow(60, 41));
    assertEquals(BodyAdmission.Verdict.ADMIT, a.admit(50));
    assertEquals(BodyAdmission.Verdict.BUSY, a.grow(60, 20));
    a.release(110);
    assertEquals(0, a.inFlight());
  }
}
