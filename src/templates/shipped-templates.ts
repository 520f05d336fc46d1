import type { TemplateSet } from '../domain/business-templates.ts';

// The sets every user has until they put their own of the same type and language: seed 004's ten business types,
// in English and Indonesian. The English restaurant set is the seed's own example, word for word.

type Texts = Omit<TemplateSet, 'businessType' | 'language' | 'isActive'>;

const SETS: Record<string, { en: Texts; id: Texts }> = {
  restaurant: {
    en: {
      displayName: 'Restaurant',
      templates: {
        greeting: 'Welcome to {businessName}! How can we serve you today?',
        menu: 'Check out our menu at {menuLink}',
        reservation: 'Your reservation for {partySize} on {date} at {time} is confirmed!',
        orderConfirmation: 'Order #{orderId} confirmed! Total: {total}. ETA: {eta}',
        delivery: 'Your order is out for delivery! Track: {trackingLink}',
      },
      categories: ['greeting', 'sales', 'support'],
    },
    id: {
      displayName: 'Restoran',
      templates: {
        greeting: 'Selamat datang di {businessName}! Ada yang bisa kami sajikan hari ini?',
        menu: 'Lihat menu kami di {menuLink}',
        reservation: 'Reservasi Anda untuk {partySize} orang pada {date} pukul {time} sudah dikonfirmasi!',
        orderConfirmation: 'Pesanan #{orderId} dikonfirmasi! Total: {total}. Perkiraan tiba: {eta}',
        delivery: 'Pesanan Anda sedang diantar! Lacak: {trackingLink}',
      },
      categories: ['greeting', 'sales', 'support'],
    },
  },
  retail: {
    en: {
      displayName: 'Retail Store',
      templates: {
        greeting: 'Hi {customerName}, welcome to {businessName}! How can we help you today?',
        newArrival: 'New in store: {productName} for {price}. Come and see it at {storeAddress}!',
        promotion: '{promoName}: {discount} off until {endDate}. Show this message at the counter.',
        stockAlert: 'Good news, {customerName}: {productName} is back in stock.',
        openingHours: 'We are open {openingHours}. See you at {storeAddress}!',
      },
      categories: ['greeting', 'sales', 'marketing'],
    },
    id: {
      displayName: 'Toko Ritel',
      templates: {
        greeting: 'Halo {customerName}, selamat datang di {businessName}! Ada yang bisa kami bantu hari ini?',
        newArrival: 'Baru di toko: {productName} seharga {price}. Kunjungi kami di {storeAddress}!',
        promotion: '{promoName}: diskon {discount} sampai {endDate}. Tunjukkan pesan ini di kasir.',
        stockAlert: 'Kabar baik, {customerName}: {productName} sudah tersedia kembali.',
        openingHours: 'Kami buka {openingHours}. Sampai jumpa di {storeAddress}!',
      },
      categories: ['greeting', 'sales', 'marketing'],
    },
  },
  ecommerce: {
    en: {
      displayName: 'E-commerce',
      templates: {
        orderConfirmation: 'Thank you for your order #{orderId}! Total: {total}. We will let you know when it ships.',
        shipped: 'Your order #{orderId} has shipped with {courier}. Tracking number: {trackingNumber}',
        delivered: 'Your order #{orderId} was delivered. We hope you love it!',
        abandonedCart: 'You left {productName} in your cart. Complete your order here: {cartLink}',
        paymentReminder: 'Reminder: order #{orderId} awaits payment of {total} before {dueDate}.',
      },
      categories: ['sales', 'support', 'notification'],
    },
    id: {
      displayName: 'Toko Online',
      templates: {
        orderConfirmation: 'Terima kasih atas pesanan #{orderId}! Total: {total}. Kami kabari saat pesanan dikirim.',
        shipped: 'Pesanan #{orderId} sudah dikirim lewat {courier}. Nomor resi: {trackingNumber}',
        delivered: 'Pesanan #{orderId} sudah sampai. Semoga Anda suka!',
        abandonedCart: '{productName} masih ada di keranjang Anda. Selesaikan pesanan di sini: {cartLink}',
        paymentReminder: 'Pengingat: pesanan #{orderId} menunggu pembayaran {total} sebelum {dueDate}.',
      },
      categories: ['sales', 'support', 'notification'],
    },
  },
  salon: {
    en: {
      displayName: 'Beauty Salon',
      templates: {
        greeting: 'Hello {customerName}, welcome to {businessName}! Would you like to book an appointment?',
        appointmentConfirmation: 'Your {service} appointment with {stylist} is booked for {date} at {time}.',
        appointmentReminder: 'Reminder: your {service} appointment is tomorrow at {time}. Reply to reschedule.',
        followUp: 'Thank you for visiting {businessName}, {customerName}! How do you like your new look?',
        promotion: 'This week only: {service} for {price}. Book now!',
      },
      categories: ['greeting', 'booking', 'marketing'],
    },
    id: {
      displayName: 'Salon Kecantikan',
      templates: {
        greeting: 'Halo {customerName}, selamat datang di {businessName}! Ingin membuat janji?',
        appointmentConfirmation: 'Janji {service} Anda dengan {stylist} sudah dipesan untuk {date} pukul {time}.',
        appointmentReminder: 'Pengingat: janji {service} Anda besok pukul {time}. Balas untuk menjadwal ulang.',
        followUp: 'Terima kasih sudah berkunjung ke {businessName}, {customerName}! Bagaimana tampilan baru Anda?',
        promotion: 'Minggu ini saja: {service} seharga {price}. Pesan sekarang!',
      },
      categories: ['greeting', 'booking', 'marketing'],
    },
  },
  gym: {
    en: {
      displayName: 'Gym & Fitness',
      templates: {
        greeting: 'Welcome to {businessName}, {memberName}! Ready for your first workout?',
        classReminder: 'Your {className} class starts at {time} today. See you there!',
        membershipExpiry: 'Your membership expires on {expiryDate}. Renew now and keep your progress going.',
        trialOffer: 'Try {businessName} free for {trialDays} days. Reply YES to claim your pass.',
        missedYou: 'We missed you, {memberName}! Your next session is waiting.',
      },
      categories: ['greeting', 'booking', 'retention'],
    },
    id: {
      displayName: 'Gym & Kebugaran',
      templates: {
        greeting: 'Selamat datang di {businessName}, {memberName}! Siap untuk latihan pertama?',
        classReminder: 'Kelas {className} Anda mulai pukul {time} hari ini. Sampai jumpa!',
        membershipExpiry: 'Keanggotaan Anda berakhir pada {expiryDate}. Perpanjang sekarang agar progres tetap jalan.',
        trialOffer: 'Coba {businessName} gratis selama {trialDays} hari. Balas YA untuk klaim pass Anda.',
        missedYou: 'Kami rindu Anda, {memberName}! Sesi berikutnya menunggu.',
      },
      categories: ['greeting', 'booking', 'retention'],
    },
  },
  hotel: {
    en: {
      displayName: 'Hotel',
      templates: {
        greeting: 'Welcome to {businessName}! How can we make your stay special?',
        bookingConfirmation: 'Your booking #{bookingId} is confirmed: {roomType}, {checkIn} to {checkOut}.',
        checkInInfo: 'Check-in opens at {checkInTime}. Your room {roomNumber} will be ready on arrival.',
        checkOut: 'Thank you for staying with us, {guestName}! Check-out is at {checkOutTime}.',
        review: 'We hope you enjoyed your stay. Would you leave us a review? {reviewLink}',
      },
      categories: ['greeting', 'booking', 'support'],
    },
    id: {
      displayName: 'Hotel',
      templates: {
        greeting: 'Selamat datang di {businessName}! Bagaimana kami bisa membuat masa inap Anda istimewa?',
        bookingConfirmation: 'Pemesanan #{bookingId} dikonfirmasi: {roomType}, {checkIn} sampai {checkOut}.',
        checkInInfo: 'Check-in dibuka pukul {checkInTime}. Kamar {roomNumber} siap saat Anda tiba.',
        checkOut: 'Terima kasih telah menginap, {guestName}! Check-out pukul {checkOutTime}.',
        review: 'Semoga Anda menikmati masa inap. Maukah memberi ulasan? {reviewLink}',
      },
      categories: ['greeting', 'booking', 'support'],
    },
  },
  clinic: {
    en: {
      displayName: 'Clinic',
      templates: {
        greeting: 'Hello, this is {businessName}. How can we help you today?',
        appointmentConfirmation: 'Your appointment with {doctorName} is confirmed for {date} at {time}.',
        appointmentReminder: 'Reminder: you see {doctorName} tomorrow at {time}. Please arrive 10 minutes early.',
        resultsReady: 'Your test results are ready, {patientName}. Please contact us to discuss them.',
        prescription: 'Your prescription is ready for pickup at {pharmacyName}.',
      },
      categories: ['greeting', 'booking', 'notification'],
    },
    id: {
      displayName: 'Klinik',
      templates: {
        greeting: 'Halo, ini {businessName}. Ada yang bisa kami bantu hari ini?',
        appointmentConfirmation: 'Janji temu Anda dengan {doctorName} dikonfirmasi untuk {date} pukul {time}.',
        appointmentReminder: 'Pengingat: Anda bertemu {doctorName} besok pukul {time}. Mohon datang 10 menit lebih awal.',
        resultsReady: 'Hasil pemeriksaan Anda sudah siap, {patientName}. Silakan hubungi kami untuk membahasnya.',
        prescription: 'Resep Anda siap diambil di {pharmacyName}.',
      },
      categories: ['greeting', 'booking', 'notification'],
    },
  },
  education: {
    en: {
      displayName: 'Education',
      templates: {
        greeting: 'Welcome to {businessName}! Which course are you interested in?',
        enrollment: 'You are enrolled in {courseName}, starting {startDate}. Welcome aboard, {studentName}!',
        classReminder: 'Reminder: {courseName} meets at {time} in {room}.',
        paymentDue: 'Tuition of {amount} for {courseName} is due on {dueDate}.',
        certificate: 'Congratulations, {studentName}! Your {courseName} certificate: {certificateLink}',
      },
      categories: ['greeting', 'notification', 'support'],
    },
    id: {
      displayName: 'Pendidikan',
      templates: {
        greeting: 'Selamat datang di {businessName}! Kursus apa yang Anda minati?',
        enrollment: 'Anda terdaftar di {courseName}, mulai {startDate}. Selamat bergabung, {studentName}!',
        classReminder: 'Pengingat: {courseName} berlangsung pukul {time} di {room}.',
        paymentDue: 'Biaya {amount} untuk {courseName} jatuh tempo pada {dueDate}.',
        certificate: 'Selamat, {studentName}! Sertifikat {courseName} Anda: {certificateLink}',
      },
      categories: ['greeting', 'notification', 'support'],
    },
  },
  realestate: {
    en: {
      displayName: 'Real Estate',
      templates: {
        greeting: 'Hello from {businessName}! Are you looking to buy, sell or rent?',
        newListing: 'New listing: {propertyType} in {location}, {price}. Details: {listingLink}',
        viewingConfirmation: 'Your viewing of {propertyAddress} is confirmed for {date} at {time}.',
        priceUpdate: 'Price update on {propertyAddress}: now {price}.',
        followUp: 'What did you think of {propertyAddress}, {clientName}? Happy to answer any questions.',
      },
      categories: ['greeting', 'sales', 'booking'],
    },
    id: {
      displayName: 'Properti',
      templates: {
        greeting: 'Halo dari {businessName}! Anda ingin membeli, menjual, atau menyewa?',
        newListing: 'Listing baru: {propertyType} di {location}, {price}. Detail: {listingLink}',
        viewingConfirmation: 'Kunjungan Anda ke {propertyAddress} dikonfirmasi untuk {date} pukul {time}.',
        priceUpdate: 'Pembaruan harga {propertyAddress}: sekarang {price}.',
        followUp: 'Bagaimana pendapat Anda tentang {propertyAddress}, {clientName}? Kami siap menjawab pertanyaan.',
      },
      categories: ['greeting', 'sales', 'booking'],
    },
  },
  automotive: {
    en: {
      displayName: 'Automotive',
      templates: {
        greeting: 'Welcome to {businessName}! How can we help with your vehicle?',
        serviceBooking: 'Your {serviceType} for the {vehicle} is booked for {date} at {time}.',
        serviceReady: 'Your {vehicle} is ready for pickup. Total: {total}.',
        serviceReminder: 'Your {vehicle} is due for its {serviceType} on {dueDate}. Reply to book.',
        testDrive: 'Your test drive of the {model} is confirmed for {date} at {time}.',
      },
      categories: ['greeting', 'booking', 'notification'],
    },
    id: {
      displayName: 'Otomotif',
      templates: {
        greeting: 'Selamat datang di {businessName}! Ada yang bisa kami bantu dengan kendaraan Anda?',
        serviceBooking: '{serviceType} untuk {vehicle} Anda dijadwalkan {date} pukul {time}.',
        serviceReady: '{vehicle} Anda siap diambil. Total: {total}.',
        serviceReminder: '{vehicle} Anda jadwal {serviceType} pada {dueDate}. Balas untuk memesan.',
        testDrive: 'Test drive {model} Anda dikonfirmasi untuk {date} pukul {time}.',
      },
      categories: ['greeting', 'booking', 'notification'],
    },
  },
};

// Seed 004's order.
export const SHIPPED_TYPES = Object.keys(SETS);
export const SHIPPED_LANGUAGES = ['en', 'id'];

export const SHIPPED_SETS: readonly TemplateSet[] = SHIPPED_TYPES.flatMap((businessType) =>
  SHIPPED_LANGUAGES.map((language) => ({ businessType, language, ...SETS[businessType]![language as 'en' | 'id'], isActive: true })),
);
